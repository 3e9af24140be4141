/**
 * Listing alarms with filters: device, state, kind, historical or live, and a time
 * range that the alarm's episode overlaps. Newest first, one page at a time.
 */
import type { Pool } from '../db/pool.js';
import type { AlarmKind } from './events.js';
import { ALARM_COLUMNS, type AlarmRow } from './alarmStore.js';

/** `active` is open or acknowledged; `unacknowledged` is any state not yet acknowledged. */
export type AlarmStateFilter =
  'open' | 'acknowledged' | 'cleared' | 'active' | 'unacknowledged';

export interface AlarmFilter {
  deviceId?: string;
  state?: AlarmStateFilter;
  kind?: AlarmKind;
  historical?: boolean;
  /** Episodes that overlap [from, to). */
  from?: Date;
  to?: Date;
  limit: number;
  /** Continue with alarms older than this id. */
  before?: string;
}

const STATE_SQL: Record<AlarmStateFilter, string> = {
  open: `state = 'open'`,
  acknowledged: `state = 'acknowledged'`,
  cleared: `state = 'cleared'`,
  active: `state <> 'cleared'`,
  unacknowledged: `acknowledged_at is null`,
};

export async function listAlarms(pool: Pool, f: AlarmFilter): Promise<AlarmRow[]> {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (sql: (p: string) => string, value: unknown): void => {
    values.push(value);
    where.push(sql(`$${values.length}`));
  };
  if (f.deviceId !== undefined) add((p) => `device_id = ${p}`, f.deviceId);
  if (f.kind !== undefined) add((p) => `kind = ${p}`, f.kind);
  if (f.historical !== undefined) add((p) => `historical = ${p}`, f.historical);
  if (f.from !== undefined) add((p) => `coalesce(until, 'infinity') >= ${p}`, f.from);
  if (f.to !== undefined) add((p) => `since < ${p}`, f.to);
  if (f.before !== undefined) add((p) => `id < ${p}::bigint`, f.before);
  if (f.state !== undefined) where.push(STATE_SQL[f.state]);
  values.push(f.limit);
  const { rows } = await pool.query<AlarmRow>(
    `select ${ALARM_COLUMNS} from alarm
     ${where.length ? `where ${where.join(' and ')}` : ''}
     order by id desc limit $${values.length}`,
    values,
  );
  return rows;
}
