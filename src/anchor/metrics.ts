import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The anchoring metrics, registered once per process in the process's registry. */
export interface AnchorMetrics {
  batchesSealed: Counter;
  readingsSealed: Counter;
  batchesAnchored: Counter;
  readingsAnchored: Counter;
  batchesFailed: Counter;
  stepErrors: Counter;
  enqueueFailures: Counter;
  requeued: Counter;
  pendingReadings: Gauge;
  oldestPendingSeconds: Gauge;
  unfinishedBatches: Gauge;
  sealToAnchorSeconds: Histogram;
}

export function createAnchorMetrics(registry: Registry): AnchorMetrics {
  const r = { registers: [registry] };
  return {
    batchesSealed: new Counter({
      name: 'heru_anchor_batches_sealed_total',
      help: 'Batches sealed (root computed, readings assigned)',
      ...r,
    }),
    readingsSealed: new Counter({
      name: 'heru_anchor_readings_sealed_total',
      help: 'Readings put into a batch',
      ...r,
    }),
    batchesAnchored: new Counter({
      name: 'heru_anchor_batches_anchored_total',
      help: 'Batches whose ledger receipt was recorded',
      ...r,
    }),
    readingsAnchored: new Counter({
      name: 'heru_anchor_readings_anchored_total',
      help: 'Readings in batches whose ledger receipt was recorded',
      ...r,
    }),
    batchesFailed: new Counter({
      name: 'heru_anchor_batches_failed_permanent_total',
      help: 'Batches the ledger refused for good (anchoring pauses)',
      ...r,
    }),
    stepErrors: new Counter({
      name: 'heru_anchor_step_errors_total',
      help: 'Anchoring attempts that failed and will be retried',
      ...r,
    }),
    enqueueFailures: new Counter({
      name: 'heru_anchor_enqueue_failures_total',
      help: 'Jobs ingest could not add to the queue (the reconciler adds them later)',
      ...r,
    }),
    requeued: new Counter({
      name: 'heru_anchor_requeued_total',
      help: 'Jobs the reconciler added for work the queue had lost',
      ...r,
    }),
    pendingReadings: new Gauge({
      name: 'heru_anchor_pending_readings',
      help: 'Readings waiting for a batch, at the last reconciler pass',
      ...r,
    }),
    oldestPendingSeconds: new Gauge({
      name: 'heru_anchor_oldest_pending_seconds',
      help: 'Age of the oldest reading waiting for a batch, at the last reconciler pass',
      ...r,
    }),
    unfinishedBatches: new Gauge({
      name: 'heru_anchor_unfinished_batches',
      help: 'Batches sealed but not yet anchored, at the last reconciler pass',
      ...r,
    }),
    sealToAnchorSeconds: new Histogram({
      name: 'heru_anchor_seal_to_anchor_seconds',
      help: 'From sealing a batch to recording its ledger receipt',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      ...r,
    }),
  };
}
