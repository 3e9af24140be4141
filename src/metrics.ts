import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric of the process, in one registry served at /metrics. */
export interface Metrics {
  registry: Registry;
  messagesReceived: Counter;
  messagesStored: Counter;
  messagesDuplicate: Counter;
  messagesQuarantined: Counter<'reason'>;
  readingsStored: Counter;
  readingsDuplicate: Counter;
  readingsFlagged: Counter<'flag'>;
  batchCommitSeconds: Histogram;
  batchSize: Histogram;
  commitFailures: Counter;
  ingestLagSeconds: Gauge;
  ingestPending: Gauge;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'heru_process_' });
  const r = { registers: [registry] };
  return {
    registry,
    messagesReceived: new Counter({
      name: 'heru_messages_received_total',
      help: 'MQTT messages received by ingest',
      ...r,
    }),
    messagesStored: new Counter({
      name: 'heru_messages_stored_total',
      help: 'Messages that gave at least one new reading',
      ...r,
    }),
    messagesDuplicate: new Counter({
      name: 'heru_messages_duplicate_total',
      help: 'Messages whose readings were all stored before',
      ...r,
    }),
    messagesQuarantined: new Counter({
      name: 'heru_messages_quarantined_total',
      help: 'Messages kept raw with a reason instead of becoming readings',
      labelNames: ['reason'],
      ...r,
    }),
    readingsStored: new Counter({
      name: 'heru_readings_stored_total',
      help: 'Readings stored',
      ...r,
    }),
    readingsDuplicate: new Counter({
      name: 'heru_readings_duplicate_total',
      help: 'Readings seen again and not stored',
      ...r,
    }),
    readingsFlagged: new Counter({
      name: 'heru_readings_flagged_total',
      help: 'Stored readings carrying a quality flag',
      labelNames: ['flag'],
      ...r,
    }),
    batchCommitSeconds: new Histogram({
      name: 'heru_batch_commit_seconds',
      help: 'Time to commit one ingest batch',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      ...r,
    }),
    batchSize: new Histogram({
      name: 'heru_batch_messages',
      help: 'Messages in one ingest batch',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000],
      ...r,
    }),
    commitFailures: new Counter({
      name: 'heru_batch_commit_failures_total',
      help: 'Failed batch commits (retried)',
      ...r,
    }),
    ingestLagSeconds: new Gauge({
      name: 'heru_ingest_lag_seconds',
      help: 'From receipt of the oldest message of the last batch to its commit',
      ...r,
    }),
    ingestPending: new Gauge({
      name: 'heru_ingest_pending_messages',
      help: 'Messages received, not yet committed',
      ...r,
    }),
  };
}
