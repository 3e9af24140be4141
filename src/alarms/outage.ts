/**
 * Operator alarms: the server itself not watching. Two causes, one alarm each, never
 * one per device:
 *
 * - `monitoring_gap`: no watchdog of any process ticked for longer than
 *   `outageAfter` (the server was stopped or stalled). Found by the first tick after
 *   it; cleared at the next tick that finds ingest healthy.
 * - `ingest_outage`: this process's ingest (broker connection or commits) failed for
 *   longer than `outageAfter`; cleared when it is healthy again.
 *
 * When an outage ends, `monitoring_since` moves to now: a device that could not be
 * heard meanwhile gets its full offline interval again before its own alarm.
 */
import type { PoolClient } from '../db/pool.js';
import { clearAlarm, raiseAlarm, type AlarmRow } from './alarmStore.js';
import { formatTime } from './summary.js';

export const OPERATOR_RULES = [
  'monitoring_gap',
  'ingest_outage',
  'fleet_silent',
] as const;
export type OperatorRule = (typeof OPERATOR_RULES)[number];

export interface Change {
  type: 'raised' | 'cleared';
  row: AlarmRow;
}

/** Records this tick; returns the previous tick of any process, or null on the first ever. */
export async function heartbeat(c: PoolClient, now: Date): Promise<Date | null> {
  const { rows } = await c.query<{ last_tick_at: Date }>(
    'select last_tick_at from alarm_watchdog where id = 1 for update',
  );
  await c.query(
    `insert into alarm_watchdog (id, last_tick_at, monitoring_since) values (1, $1, $1)
     on conflict (id) do update
       set last_tick_at = greatest(alarm_watchdog.last_tick_at, excluded.last_tick_at)`,
    [now],
  );
  return rows[0]?.last_tick_at ?? null;
}

/** Devices are expected to report from `now` on (an outage just ended). */
export async function restartMonitoring(c: PoolClient, now: Date): Promise<void> {
  await c.query(
    'update alarm_watchdog set monitoring_since = greatest(monitoring_since, $1)',
    [now],
  );
}

export async function raiseOperator(
  c: PoolClient,
  rule: OperatorRule,
  since: Date,
  summary: string,
  detail: Record<string, unknown>,
): Promise<Change[]> {
  const row = await raiseAlarm(c, {
    deviceId: null,
    sensor: '',
    ruleId: rule,
    kind: 'operator',
    severity: 'critical',
    profile: null,
    site: null,
    since,
    summary,
    detail,
  });
  return row ? [{ type: 'raised', row }] : [];
}

export async function clearOperator(
  c: PoolClient,
  rule: OperatorRule,
  now: Date,
): Promise<Change[]> {
  const row = await clearAlarm(c, { deviceId: null, sensor: '', ruleId: rule }, now);
  if (!row) return [];
  await restartMonitoring(c, now);
  return [{ type: 'cleared', row }];
}

/** The monitoring-gap alarm when the previous tick is too long ago. */
export async function checkGap(
  c: PoolClient,
  previous: Date | null,
  now: Date,
  outageAfterMs: number,
): Promise<{ gap: boolean; changes: Change[] }> {
  if (previous === null || now.getTime() - previous.getTime() <= outageAfterMs) {
    return { gap: false, changes: [] };
  }
  await restartMonitoring(c, now);
  const minutes = Math.round((now.getTime() - previous.getTime()) / 60_000);
  const summary =
    `No alarm monitoring ran from ${formatTime(previous.getTime(), 'UTC')} to ` +
    `${formatTime(now.getTime(), 'UTC')} (${minutes} min): the server was stopped or stalled; ` +
    'readings from that time are checked as they arrive';
  const changes = await raiseOperator(c, 'monitoring_gap', previous, summary, {
    from: previous.toISOString(),
    to: now.toISOString(),
  });
  return { gap: true, changes };
}
