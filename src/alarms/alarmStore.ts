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
  return (await raiseAlarms(db, [a]))[0];
}

/**
 * Raises live alarms in one statement, inserted in the order given. A device, sensor
 * and rule that has an alarm open already gets none (and no row back); give each key
 * at most once. Returns the alarms raised.
 */
export async function raiseAlarms(
  db: Db,
  list: readonly NewAlarm[],
): Promise<AlarmRow[]> {
  if (list.length === 0) return [];
  const { rows } = await db.query<AlarmRow>(
    `with u as (
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                            $6::text[], $7::timestamptz[], $8::text[], $9::jsonb[],
                            $10::text[])
         with ordinality as u(device_id, sensor, rule_id, kind, severity, profile, since,
                              summary, detail, site, i)),
     a as (
       insert into alarm (device_id, sensor, rule_id, kind, severity, state, profile, since,
                          summary, detail, site)
       select device_id, sensor, rule_id, kind, severity, 'open', profile, since, summary,
              detail, site
       from u order by i
       on conflict (coalesce(device_id, ''), sensor, rule_id)
         where state <> 'cleared' and not historical do nothing
       returning *),
     act as (insert into alarm_action (alarm_id, action, by, detail)
             select id, 'raised', 'system', detail from a order by id)
     select ${ALARM_COLUMNS} from a order by id`,
    [
      list.map((a) => a.deviceId),
      list.map((a) => a.sensor),
      list.map((a) => a.ruleId),
      list.map((a) => a.kind),
      list.map((a) => a.severity),
      list.map((a) => a.profile),
      list.map((a) => a.since),
      list.map((a) => a.summary),
      list.map((a) => JSON.stringify(a.detail)),
      list.map((a) => a.site),
    ],
  );
  return rows;
}

/** Which live alarm: a device (null for operator alarms), a sensor and a rule. */
export interface AlarmKey {
  deviceId: string | null;
  sensor: string;
  ruleId: string;
}

/** Clears the open live alarm of a device, sensor and rule; undefined when none is open. */
export async function clearAlarm(
  db: Db,
  key: AlarmKey,
  until: Date,
  detail: Record<string, unknown> = {},
): Promise<AlarmRow | undefined> {
  return (await clearAlarms(db, [{ ...key, until, detail }]))[0];
}

/**
 * Clears open live alarms in one statement: each key's alarm ends at `until` (a
 * reading time) and keeps `detail` besides its own. Keys with no alarm open are
 * passed over. Returns the alarms cleared.
 */
export async function clearAlarms(
  db: Db,
  list: ReadonlyArray<AlarmKey & { until: Date; detail: Record<string, unknown> }>,
): Promise<AlarmRow[]> {
  if (list.length === 0) return [];
  const { rows } = await db.query<AlarmRow>(
    `with u as (
       select * from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[],
                            $5::jsonb[])
         as u(device_id, sensor, rule_id, until, detail)),
     a as (
       update alarm al set state = 'cleared', cleared_at = now(), until = u.until,
                           detail = al.detail || u.detail
       from u
       where coalesce(al.device_id, '') = coalesce(u.device_id, '')
         and al.sensor = u.sensor and al.rule_id = u.rule_id
         and al.state <> 'cleared' and not al.historical
       returning al.*, u.detail as cleared_detail),
     act as (insert into alarm_action (alarm_id, action, by, detail)
             select id, 'cleared', 'system', cleared_detail from a order by id)
     select ${ALARM_COLUMNS} from a order by id`,
    [
      list.map((k) => k.deviceId),
      list.map((k) => k.sensor),
      list.map((k) => k.ruleId),
      list.map((k) => k.until),
      list.map((k) => JSON.stringify(k.detail)),
    ],
  );
  return rows;
}

/** Clears the open alarms of rule `ruleId` (device-wide, sensor '') of these devices, e.g. `offline`. */
export async function clearRuleOf(
  db: Db,
  deviceIds: readonly string[],
  ruleId: string,
): Promise<AlarmRow[]> {
  if (deviceIds.length === 0) return [];
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
