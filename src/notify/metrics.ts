import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The hub's metrics, registered on the process registry served at /metrics. */
export interface NotifyMetrics {
  events: Counter<'type'>;
  eventsDropped: Counter;
  intakeBacklog: Gauge;
  notices: Counter<'placed'>;
  attempts: Counter<'kind' | 'outcome'>;
  attemptSeconds: Histogram<'kind'>;
}

export function createNotifyMetrics(registry: Registry): NotifyMetrics {
  const r = { registers: [registry] };
  return {
    events: new Counter({
      name: 'heru_notify_events_total',
      help: 'Alarm events handed to the notification hub',
      labelNames: ['type'],
      ...r,
    }),
    eventsDropped: new Counter({
      name: 'heru_notify_events_dropped_total',
      help: 'Alarm events dropped because the hub could not record them and its buffer was full',
      ...r,
    }),
    intakeBacklog: new Gauge({
      name: 'heru_notify_intake_backlog',
      help: 'Alarm events received, not yet recorded in PostgreSQL',
      ...r,
    }),
    notices: new Counter({
      name: 'heru_notify_notices_total',
      help: 'Notices for one channel: queued, coalesced into a digest, or duplicate',
      labelNames: ['placed'],
      ...r,
    }),
    attempts: new Counter({
      name: 'heru_notify_attempts_total',
      help: 'Delivery attempts by channel kind and outcome (sent, retry, failed)',
      labelNames: ['kind', 'outcome'],
      ...r,
    }),
    attemptSeconds: new Histogram({
      name: 'heru_notify_attempt_seconds',
      help: 'Time one delivery attempt took',
      labelNames: ['kind'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      ...r,
    }),
  };
}
