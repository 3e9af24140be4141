import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What the rule engine and the watchdog count, served at /metrics. */
export interface AlarmMetrics {
  /** Alarm events by type (raised, cleared, acknowledged) and kind. */
  events: Counter<'type' | 'kind'>;
  /** Readings stored by ingest and not yet evaluated. */
  queued: Gauge;
  /** Seconds from a reading's receipt to the commit of its evaluation. */
  lagSeconds: Histogram;
}

export function createAlarmMetrics(registry: Registry): AlarmMetrics {
  const r = { registers: [registry] };
  return {
    events: new Counter({
      name: 'heru_alarm_events_total',
      help: 'Alarm events handed to the notification hub, by type and kind',
      labelNames: ['type', 'kind'],
      ...r,
    }),
    queued: new Gauge({
      name: 'heru_alarm_queued_readings',
      help: 'Readings stored and waiting for the rule engine',
      ...r,
    }),
    lagSeconds: new Histogram({
      name: 'heru_alarm_evaluation_lag_seconds',
      help: 'From the receipt of a reading to the commit of its evaluation',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      ...r,
    }),
  };
}
