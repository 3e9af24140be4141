/**
 * The `alarm` table and its audit trail `alarm_action`. Every statement that changes
 * an alarm writes the matching action in the same statement, so the trail can never
 * miss a step.
 */
import type { Pool, PoolClient } from '../db/pool.js';
import type { AlarmKind, AlarmSeverity } from './events.js';

type Db = Pick<Pool | PoolClient, 'query'>;

export type AlarmState = 'open' | 'acknowledged' | 'cleared';

/** An alarm as the API shows it; ids are strings (64-bit). */
export interface AlarmRow {
  id: string;
  device_id: string | null;
  sensor: string;
  rule_id: string;
  kind: AlarmKind;
  severity: AlarmSeverity;
  historical: boolean;
  state: AlarmState;
  profile: string | null;
  site: string | null;
  since: Date;
  until: Date | null;
  raised_at: Date;
  cleared_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  ack_comment: string | null;
  summary: string;
  detail: Record<string, unknown>;
}

export const ALARM_COLUMNS = `id::text, device_id, sensor, rule_id, kind, severity, historical,
  state, profile, site, since, until, raised_at, cleared_at, acknowledged_at, acknowledged_by,
  ack_comment, summary, detail`;

export interface NewAlarm {
  deviceId: string | null;
  sensor: string;
  ruleId: string;
  kind: AlarmKind;
  severity: AlarmSeverity;
  profile: string | null;
  site: string | null;
  since: Date;
  summary: string;
  detail: Record<string, unknown>;
}

/** Raises a live alarm; undefined when the same device, sensor and rule has one open already. */
export async function raiseAlarm(db: Db, a: NewAlarm): Promise<AlarmRow | undefined> {
  const { rows } = await db.query<AlarmRow>(
    `with a as (
       insert into alarm (device_id, sensor, rule_id, kind, severity, state, profile, since,
                          summary, detail, site)
       values ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10)
       on conflict (coalesce(device_id, ''), sensor, rule_id)
         where state <> 'cleared' and not historical do nothing
       returning *),
     act as (insert into alarm_action (alarm_id, action, by, detail)
             select id, 'raised', 'system', detail from a)
     select ${ALARM_COLUMNS} from a`,
    [
      a.deviceId,
      a.sensor,
      a.ruleId,
      a.kind,
      a.severity,
      a.profile,
      a.since,
      a.summary,
      a.detail,
      a.site,
    ],
  );
  return rows[0];
}

/** Clears the open live alarm of a device, sensor and rule; undefined when none is open. */
export async function clearAlarm(
  db: Db,
  key: { deviceId: string | null; sensor: string; ruleId: string },
  until: Date,
  detail: Record<string, unknown> = {},
): Promise<AlarmRow | undefined> {
  const { rows } = await db.query<AlarmRow>(
    `with a as (
       update alarm set state = 'cleared', cleared_at = now(), until = $4,
                        detail = detail || $5::jsonb
       where coalesce(device_id, '') = coalesce($1, '') and sensor = $2 and rule_id = $3
         and state <> 'cleared' and not historical
       returning *),
     act as (insert into alarm_action (alarm_id, action, by, detail)
             select id, 'cleared', 'system', $5::jsonb from a)
     select ${ALARM_COLUMNS} from a`,
    [key.deviceId, key.sensor, key.ruleId, until, detail],
  );
  return rows[0];
}

/** Clears the open alarms of rule `ruleId` (device-wide, sensor '') of these devices, e.g. `offline`. */
export async function clearRuleOf(
  db: Db,
  deviceIds: readonly string[],
  ruleId: string,
): Promise<AlarmRow[]> {
  const { rows } = await db.query<AlarmRow>(
    `with a as (
       update alarm set state = 'cleared', cleared_at = now(), until = now()
       where coalesce(device_id, '') = any($1) and sensor = '' and rule_id = $2
         and state <> 'cleared' and not historical
       returning *),
     act as (insert into alarm_action (alarm_id, action, by)
             select id, 'cleared', 'system' from a)
     select ${ALARM_COLUMNS} from a`,
    [deviceIds, ruleId],
  );
  return rows;
}

/** The live alarms not yet cleared, for the given devices (or operator alarms when null). */
export async function activeAlarms(
  db: Db,
  deviceIds: readonly string[],
): Promise<AlarmRow[]> {
  const { rows } = await db.query<AlarmRow>(
    `select ${ALARM_COLUMNS} from alarm
     where device_id = any($1) and state <> 'cleared' and not historical`,
    [deviceIds],
  );
  return rows;
}

export async function getAlarm(db: Db, id: string): Promise<AlarmRow | undefined> {
  const { rows } = await db.query<AlarmRow>(
    `select ${ALARM_COLUMNS} from alarm where id = $1`,
    [id],
  );
  return rows[0];
}

export type AckOutcome =
  | { outcome: 'acknowledged'; alarm: AlarmRow }
  | { outcome: 'already'; alarm: AlarmRow }
  | { outcome: 'not_found' };

/**
 * Acknowledges an alarm: who and when, with a comment. An alarm whose condition
 * still holds stays active (acknowledged, not cleared); only the readings clear it.
 */
export async function acknowledgeAlarm(
  db: Db,
  id: string,
  by: string,
  comment: string | null,
): Promise<AckOutcome> {
  const { rows } = await db.query<AlarmRow>(
    `with a as (
       update alarm set acknowledged_at = now(), acknowledged_by = $2, ack_comment = $3,
                        state = case when state = 'open' then 'acknowledged' else state end
       where id = $1 and acknowledged_at is null
       returning *),
     act as (insert into alarm_action (alarm_id, action, by, comment)
             select id, 'acknowledged', $2, $3 from a)
     select ${ALARM_COLUMNS} from a`,
    [id, by, comment],
  );
  if (rows[0]) return { outcome: 'acknowledged', alarm: rows[0] };
  const existing = await getAlarm(db, id);
  return existing ? { outcome: 'already', alarm: existing } : { outcome: 'not_found' };
}

/** One step in an alarm's life, as the audit trail keeps it. */
export interface AlarmActionRow {
  action: 'raised' | 'acknowledged' | 'cleared' | 'updated';
  at: Date;
  by: string;
  comment: string | null;
  detail: Record<string, unknown>;
}

export async function listActions(db: Db, alarmId: string): Promise<AlarmActionRow[]> {
  const { rows } = await db.query<AlarmActionRow>(
    `select action, at, by, comment, detail from alarm_action
     where alarm_id = $1 order by at, id`,
    [alarmId],
  );
  return rows;
}
