/**
 * Readings that arrived late (after an outage, from a device's buffer) are evaluated
 * in their own time: the excursion rules run from an empty state over them and the
 * readings stored around them, and every episode that reached its alarm and holds a
 * late reading is recorded as a *historical* excursion ("10:12–10:58, reported
 * 14:03"). The live state and the live alarms are never touched. An episode already
 * covered by a live alarm of the same rule is not recorded twice. Replaying the same
 * readings again updates the same historical alarm (one per device, sensor, rule and
 * start).
 */
import type { PoolClient } from '../db/pool.js';
import { ALARM_COLUMNS, type AlarmRow } from './alarmStore.js';
import { findEpisodes, type Episode } from './episodes.js';
import type { RuleReading } from './evaluate.js';
import { gapMs, longestRuleMs } from './profile.js';
import type { DeviceContext } from './stateStore.js';
import { episodeSummary } from './summary.js';

/** Records the historical excursions in `late` (one device, sorted); returns the new alarms. */
export async function evaluateLate(
  c: PoolClient,
  ctx: DeviceContext,
  late: readonly RuleReading[],
): Promise<AlarmRow[]> {
  const rules = ctx.profile.rules;
  if (late.length === 0 || rules.excursions.length === 0) return [];
  const raised: AlarmRow[] = [];
  for (const sensor of new Set(late.map((r) => r.sensor))) {
    const mine = late.filter((r) => r.sensor === sensor);
    const from = mine[0]!.time - longestRuleMs(rules) - gapMs(rules);
    const context = await readingsBetween(
      c,
      ctx.deviceId,
      sensor,
      from,
      mine.at(-1)!.time,
    );
    const reportedAt = Math.max(...mine.map((r) => r.receivedAt));
    for (const e of findEpisodes(rules, context)) {
      if (!mine.some((r) => r.time >= e.since && r.time <= (e.until ?? Infinity)))
        continue;
      if (await coveredByLiveAlarm(c, ctx.deviceId, e)) continue;
      const since = await continuedSince(
        c,
        ctx.deviceId,
        e,
        context[0]?.time,
        gapMs(rules),
      );
      const row = await recordEpisode(c, ctx, { ...e, since }, reportedAt);
      if (row) raised.push(row);
    }
  }
  return raised;
}

async function readingsBetween(
  c: PoolClient,
  deviceId: string,
  sensor: string,
  from: number,
  to: number,
): Promise<RuleReading[]> {
  const { rows } = await c.query<{
    time: Date;
    received_at: Date;
    temperature_c: number | null;
    quality: 'good' | 'invalid';
    flags: string[];
  }>(
    `select time, received_at, temperature_c, quality, flags from reading
     where device_id = $1 and sensor = $2 and time >= $3 and time <= $4
     order by time, id`,
    [deviceId, sensor, new Date(from), new Date(to)],
  );
  return rows.map((r) => ({
    sensor,
    time: r.time.getTime(),
    receivedAt: r.received_at.getTime(),
    temperatureC: r.temperature_c,
    quality: r.quality,
    flags: r.flags,
    batteryPct: null,
    batteryV: null,
  }));
}

async function coveredByLiveAlarm(
  c: PoolClient,
  deviceId: string,
  e: Episode,
): Promise<boolean> {
  const { rows } = await c.query(
    `select 1 from alarm
     where device_id = $1 and sensor = $2 and rule_id = $3 and not historical
       and since <= $5 and coalesce(until, 'infinity') >= $4
     limit 1`,
    [deviceId, e.sensor, e.rule.id, new Date(e.since), new Date(e.until ?? e.lastOutAt)],
  );
  return rows.length > 0;
}

/**
 * An episode found at the very start of the readings looked at may have begun
 * earlier: when a historical alarm of the same rule ran up to it, it is that one.
 */
async function continuedSince(
  c: PoolClient,
  deviceId: string,
  e: Episode,
  firstTime: number | undefined,
  gap: number,
): Promise<number> {
  if (firstTime === undefined || e.since !== firstTime) return e.since;
  const { rows } = await c.query<{ since: Date }>(
    `select since from alarm
     where device_id = $1 and sensor = $2 and rule_id = $3 and historical
       and since <= $4 and coalesce(until, 'infinity') >= $5
     order by since desc limit 1`,
    [deviceId, e.sensor, e.rule.id, new Date(e.since), new Date(e.since - gap)],
  );
  return rows[0]?.since.getTime() ?? e.since;
}

/** Inserts the historical alarm, or updates it when the episode was recorded before; the row when new. */
async function recordEpisode(
  c: PoolClient,
  ctx: DeviceContext,
  e: Episode,
  reportedAt: number,
): Promise<AlarmRow | undefined> {
  const summary = episodeSummary(ctx.deviceId, e, reportedAt, ctx.profile.rules.timeZone);
  const detail = {
    limit: e.rule.raiseAt,
    direction: e.rule.direction,
    minutes: e.rule.minutes,
    peak: e.peak,
    reached_at: new Date(e.raisedAt).toISOString(),
    last_out_at: new Date(e.lastOutAt).toISOString(),
    reported_at: new Date(reportedAt).toISOString(),
  };
  const { rows } = await c.query<AlarmRow & { inserted: boolean }>(
    `with a as (
       insert into alarm as al (device_id, sensor, rule_id, kind, severity, historical, state,
                                profile, since, until, cleared_at, summary, detail, site)
       values ($1, $2, $3, 'historical_excursion', $4, true, 'cleared', $5, $6, $7, now(), $8,
               $9, $10)
       on conflict (device_id, sensor, rule_id, since) where historical
       do update set until = excluded.until, summary = excluded.summary,
                     detail = excluded.detail
         where al.until is distinct from excluded.until
       returning *, (xmax = 0) as inserted),
     act as (insert into alarm_action (alarm_id, action, by, detail)
             select id, case when inserted then 'raised' else 'updated' end, 'system', detail
             from a)
     select ${ALARM_COLUMNS}, inserted from a`,
    [
      ctx.deviceId,
      e.sensor,
      e.rule.id,
      e.rule.severity,
      ctx.profile.name,
      new Date(e.since),
      e.until === null ? null : new Date(e.until),
      summary,
      detail,
      ctx.site,
    ],
  );
  const row = rows[0];
  if (!row?.inserted) return undefined;
  return withoutFlag(row);
}

function withoutFlag(row: AlarmRow & { inserted?: boolean }): AlarmRow {
  const copy = { ...row };
  delete copy.inserted;
  return copy;
}
