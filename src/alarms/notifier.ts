/**
 * Hands alarm events to the registered listeners (the notification hub) without ever
 * waiting for them: each call runs once the caller's code is done (a microtask, not
 * a later turn of the event loop, which under load waits behind every socket read of
 * the turn), and a listener that throws is logged and does not stop the others.
 */
import type { Logger } from '../log.js';
import type { AlarmEvent, AlarmListener } from './events.js';
import type { AlarmRow } from './alarmStore.js';
import type { AlarmMetrics } from './metrics.js';

export class AlarmNotifier {
  private readonly listeners = new Set<AlarmListener>();

  constructor(
    private readonly log: Logger,
    private readonly metrics?: AlarmMetrics,
  ) {}

  addListener(listener: AlarmListener): void {
    this.listeners.add(listener);
  }

  removeListener(listener: AlarmListener): void {
    this.listeners.delete(listener);
  }

  /** Sends the event to every listener, later; returns at once. */
  emit(event: AlarmEvent): void {
    this.metrics?.events.inc({ type: event.type, kind: event.kind });
    for (const l of this.listeners) {
      const failed = (err: unknown): void =>
        this.log.error(
          { alarmId: event.alarmId, err: (err as Error).message },
          'alarm listener failed',
        );
      queueMicrotask(() => {
        try {
          // A listener may be asynchronous: its rejection is logged like a throw.
          const done: unknown = l.onAlarmEvent(event);
          if (done instanceof Promise) done.catch(failed);
        } catch (err) {
          failed(err);
        }
      });
    }
  }

  /** Emits the event of one step of an alarm's life from its row. */
  emitRow(type: AlarmEvent['type'], row: AlarmRow, summary = row.summary): void {
    this.emit(alarmEvent(type, row, summary));
  }
}

/** The event for a step of the alarm `row`; `at` is now. */
export function alarmEvent(
  type: AlarmEvent['type'],
  row: AlarmRow,
  summary: string,
): AlarmEvent {
  return {
    type,
    alarmId: row.id,
    kind: row.kind,
    severity: row.severity,
    deviceId: row.device_id,
    site: row.site,
    profile: row.profile,
    summary,
    since: row.since.toISOString(),
    at: new Date().toISOString(),
    level: 0,
    ruleId: row.rule_id,
    sensor: row.sensor,
    historical: row.historical,
    until: row.until?.toISOString() ?? null,
  };
}
