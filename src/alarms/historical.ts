/**
 * Readings that arrived late (after an outage, from a device's buffer) are evaluated
 * in their own time: the excursion rules run from an empty state over them and the
 * readings stored around them, and every episode that reached its alarm and holds a
 * late reading is recorded as a *historical* excursion ("10:12–10:58, reported
 * 14:03"). The live state and the live alarms are never touched. An episode already
 * covered by a live alarm of the same rule is not recorded twice. Replaying the same
 * readings again updates the same historical alarm (one per device, sensor, rule and
 * start).
 *
 * One turn of the engine may hold late readings of many devices: each step below is
 * one statement for all of them (the readings around, the live alarms that cover an
 * episode, the historical alarms an episode continues, the inserts).
 */
import type { PoolClient } from '../db/pool.js';
import { ALARM_COLUMNS, type AlarmRow } from './alarmStore.js';
import { findEpisodes, type Episode } from './episodes.js';
import type { RuleReading } from './evaluate.js';
import { gapMs, longestRuleMs } from './profile.js';
import type { DeviceContext } from './stateStore.js';
import { episodeSummary } from './summary.js';

/** The late readings of one device in a turn, sorted by time. */
export interface LateReadings {
  ctx: DeviceContext;
  late: readonly RuleReading[];
}

/** The late readings of one sensor, with the readings stored around them. */
interface Stretch {
  ctx: DeviceContext;
  sensor: string;
  late: RuleReading[];
  from: number;
  to: number;
  around: RuleReading[];
}

/** An episode to record, with when its late readings were reported. */
interface Found {
  ctx: DeviceContext;
  episode: Episode;
  /** Time of the first reading looked at: an episode starting there may have begun earlier. */
  firstTime: number | undefined;
  reportedAt: number;
}

/** Records the historical excursions in the late readings of a turn; returns the new alarms. */
export async function evaluateLate(
  c: PoolClient,
  devices: readonly LateReadings[],
): Promise<AlarmRow[]> {
  const stretches = stretchesOf(devices);
  if (stretches.length === 0) return [];
  await readAround(c, stretches);
  const found: Found[] = [];
  for (const s of stretches) {
    const reportedAt = Math.max(...s.late.map((r) => r.receivedAt));
    for (const e of findEpisodes(s.ctx.profile.rules, s.around)) {
      if (!s.late.some((r) => r.time >= e.since && r.time <= (e.until ?? Infinity)))
        continue;
      found.push({ ctx: s.ctx, episode: e, firstTime: s.around[0]?.time, reportedAt });
    }
  }
  const covered = await coveredByLiveAlarms(c, found);
  const open = found.filter((_, i) => !covered.has(i));
  await continueEarlier(c, open);
  return recordEpisodes(c, open);
}

function stretchesOf(devices: readonly LateReadings[]): Stretch[] {
  const out: Stretch[] = [];
  for (const { ctx, late } of devices) {
    const rules = ctx.profile.rules;
    if (late.length === 0 || rules.excursions.length === 0) continue;
    for (const sensor of new Set(late.map((r) => r.sensor))) {
      const mine = late.filter((r) => r.sensor === sensor);
      const from = mine[0]!.time - longestRuleMs(rules) - gapMs(rules);
      out.push({ ctx, sensor, late: mine, from, to: mine.at(-1)!.time, around: [] });
    }
  }
  return out;
}

/** Fills `around` of each stretch with the stored readings of its sensor and time. */
async function readAround(c: PoolClient, stretches: Stretch[]): Promise<void> {
  const { rows } = await c.query<{
    i: string;
    time: Date;
    received_at: Date;
    temperature_c: number | null;
    quality: 'good' | 'invalid';
    flags: string[];
  }>(
    `select u.i::text, r.time, r.received_at, r.temperature_c, r.quality, r.flags
     from unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[])
            with ordinality as u(device_id, sensor, t0, t1, i)
     join reading r on r.device_id = u.device_id and r.sensor = u.sensor
                   and r.time >= u.t0 and r.time <= u.t1
     order by u.i, r.time, r.id`,
    [
      stretches.map((s) => s.ctx.deviceId),
      stretches.map((s) => s.sensor),
      stretches.map((s) => new Date(s.from)),
      stretches.map((s) => new Date(s.to)),
    ],
  );
  for (const r of rows) {
    const s = stretches[Number(r.i) - 1]!;
    s.around.push({
      sensor: s.sensor,
      time: r.time.getTime(),
      receivedAt: r.received_at.getTime(),
      temperatureC: r.temperature_c,
      quality: r.quality,
      flags: r.flags,
      batteryPct: null,
      batteryV: null,
    });
  }
}

/** Positions in `found` of the episodes a live alarm of the same rule already covers. */
async function coveredByLiveAlarms(c: PoolClient, found: Found[]): Promise<Set<number>> {
  if (found.length === 0) return new Set();
  const { rows } = await c.query<{ i: string }>(
    `select u.i::text
     from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
            with ordinality as u(device_id, sensor, rule_id, since, until, i)
     where exists (select 1 from alarm a
                   where a.device_id = u.device_id and a.sensor = u.sensor
                     and a.rule_id = u.rule_id and not a.historical
                     and a.since <= u.until and coalesce(a.until, 'infinity') >= u.since)`,
    [
      found.map((f) => f.ctx.deviceId),
      found.map((f) => f.episode.sensor),
      found.map((f) => f.episode.rule.id),
      found.map((f) => new Date(f.episode.since)),
      found.map((f) => new Date(f.episode.until ?? f.episode.lastOutAt)),
    ],
  );
  return new Set(rows.map((r) => Number(r.i) - 1));
}

/**
 * An episode found at the very start of the readings looked at may have begun
 * earlier: when a historical alarm of the same rule ran up to it, it is that one,
 * and the episode takes its start.
 */
async function continueEarlier(c: PoolClient, found: Found[]): Promise<void> {
  const atStart = found.filter((f) => f.episode.since === f.firstTime);
  if (atStart.length === 0) return;
  const { rows } = await c.query<{ i: string; since: Date }>(
    `select distinct on (u.i) u.i::text, a.since
     from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
            with ordinality as u(device_id, sensor, rule_id, since, reach, i)
     join alarm a on a.device_id = u.device_id and a.sensor = u.sensor
                 and a.rule_id = u.rule_id and a.historical
                 and a.since <= u.since and coalesce(a.until, 'infinity') >= u.reach
     order by u.i, a.since desc`,
    [
      atStart.map((f) => f.ctx.deviceId),
      atStart.map((f) => f.episode.sensor),
      atStart.map((f) => f.episode.rule.id),
      atStart.map((f) => new Date(f.episode.since)),
      atStart.map((f) => new Date(f.episode.since - gapMs(f.ctx.profile.rules))),
    ],
  );
  for (const r of rows) {
    const f = atStart[Number(r.i) - 1]!;
    f.episode = { ...f.episode, since: r.since.getTime() };
  }
}

/**
 * Inserts the historical alarms, or updates those recorded before (same device,
 * sensor, rule and start); returns the new ones.
 */
async function recordEpisodes(c: PoolClient, found: Found[]): Promise<AlarmRow[]> {
  // One row per alarm key: a statement may not update the same row twice.
  const byKey = new Map<string, Found>();
  for (const f of found) {
    const e = f.episode;
    byKey.set(`${f.ctx.deviceId}\u0000${e.sensor}\u0000${e.rule.id}\u0000${e.since}`, f);
  }
  const list = [...byKey.values()];
  if (list.length === 0) return [];
  const { rows } = await c.query<AlarmRow & { inserted: boolean }>(
    `with u as (
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                            $6::timestamptz[], $7::timestamptz[], $8::text[], $9::jsonb[],
                            $10::text[])
         with ordinality as u(device_id, sensor, rule_id, severity, profile, since, until,
                              summary, detail, site, i)),
     a as (
       insert into alarm as al (device_id, sensor, rule_id, kind, severity, historical, state,
                                profile, since, until, cleared_at, summary, detail, site)
       select device_id, sensor, rule_id, 'historical_excursion', severity, true, 'cleared',
              profile, since, until, now(), summary, detail, site
       from u order by i
       on conflict (device_id, sensor, rule_id, since) where historical
       do update set until = excluded.until, summary = excluded.summary,
                     detail = excluded.detail
         where al.until is distinct from excluded.until
       returning *, (xmax = 0) as inserted),
     act as (insert into alarm_action (alarm_id, action, by, detail)
             select id, case when inserted then 'raised' else 'updated' end, 'system', detail
             from a order by id)
     select ${ALARM_COLUMNS}, inserted from a order by id`,
    [
      list.map((f) => f.ctx.deviceId),
      list.map((f) => f.episode.sensor),
      list.map((f) => f.episode.rule.id),
      list.map((f) => f.episode.rule.severity),
      list.map((f) => f.ctx.profile.name),
      list.map((f) => new Date(f.episode.since)),
      list.map((f) => (f.episode.until === null ? null : new Date(f.episode.until))),
      list.map((f) =>
        episodeSummary(
          f.ctx.deviceId,
          f.episode,
          f.reportedAt,
          f.ctx.profile.rules.timeZone,
        ),
      ),
      list.map((f) => JSON.stringify(episodeDetail(f.episode, f.reportedAt))),
      list.map((f) => f.ctx.site),
    ],
  );
  return rows.filter((r) => r.inserted).map(withoutFlag);
}

function episodeDetail(e: Episode, reportedAt: number): Record<string, unknown> {
  return {
    limit: e.rule.raiseAt,
    direction: e.rule.direction,
    minutes: e.rule.minutes,
    peak: e.peak,
    reached_at: new Date(e.raisedAt).toISOString(),
    last_out_at: new Date(e.lastOutAt).toISOString(),
    reported_at: new Date(reportedAt).toISOString(),
  };
}

function withoutFlag(row: AlarmRow & { inserted?: boolean }): AlarmRow {
  const copy = { ...row };
  delete copy.inserted;
  return copy;
}
