/**
 * Readings that arrived late (after an outage, from a device's buffer) are evaluated
 * in their own time: the excursion rules run from an empty state over them and the
 * readings stored around them, before and after (a backlog may arrive newest first,
 * or from two processes out of order), and every episode that reached its alarm and
 * holds a late reading is recorded as a *historical* excursion ("10:12–10:58,
 * reported 14:03"). The live state and the live alarms are never touched. An episode
 * already covered by a live alarm of the same rule is not recorded twice; one that
 * overlaps a historical alarm of the same rule extends it instead of adding a second
 * (so replaying the same readings changes nothing).
 *
 * One turn of the engine may hold late readings of many devices: each step below is
 * one statement for all of them (the readings around, the live alarms that cover an
 * episode, the historical alarms an episode overlaps, the writes).
 */
import type { PoolClient } from '../db/pool.js';
import { ALARM_COLUMNS, type AlarmRow } from './alarmStore.js';
import { findEpisodes, type Episode } from './episodes.js';
import type { ExcursionRule } from './profile.js';
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
  /** Times of its first and last late reading. */
  late: { from: number; to: number };
  reportedAt: number;
}

/** A historical alarm an episode overlaps, as stored. */
interface Recorded {
  id: string;
  since: number;
  until: number | null;
  lastOutAt: number;
  raisedAt: number;
  peak: number | null;
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
      const inside = s.late.filter(
        (r) => r.time >= e.since && r.time <= (e.until ?? Infinity),
      );
      if (inside.length === 0) continue;
      const late = { from: inside[0]!.time, to: inside.at(-1)!.time };
      found.push({
        ctx: s.ctx,
        episode: e,
        firstTime: s.around[0]?.time,
        late,
        reportedAt,
      });
    }
  }
  const covered = await coveredByLiveAlarms(c, found);
  const open = found.filter((_, i) => !covered.has(i));
  const overlapped = await overlappedAlarms(c, open);
  return recordEpisodes(c, mergeInto(open, overlapped));
}

/**
 * The late readings of each sensor, with the span to read around them: the longest
 * rule and the gap allowance on both sides, so an episode that began before the late
 * readings, or goes on in readings stored after them, is seen whole.
 */
function stretchesOf(devices: readonly LateReadings[]): Stretch[] {
  const out: Stretch[] = [];
  for (const { ctx, late } of devices) {
    const rules = ctx.profile.rules;
    if (late.length === 0 || rules.excursions.length === 0) continue;
    const margin = longestRuleMs(rules) + gapMs(rules);
    for (const sensor of new Set(late.map((r) => r.sensor))) {
      const mine = late.filter((r) => r.sensor === sensor);
      const from = mine[0]!.time - margin;
      const to = mine.at(-1)!.time + margin;
      out.push({ ctx, sensor, late: mine, from, to, around: [] });
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

/**
 * Positions in `found` of the episodes whose late readings a live alarm of the same
 * rule already covers. Judged by the late readings only: an episode read on into the
 * live readings after them is still recorded for its late part.
 */
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
      found.map((f) => new Date(f.late.from)),
      found.map((f) => new Date(f.late.to)),
    ],
  );
  return new Set(rows.map((r) => Number(r.i) - 1));
}

/**
 * For each episode, the earliest historical alarm of the same rule it overlaps. An
 * episode found at the very start of the readings looked at may have begun earlier,
 * so for it an alarm that ran up to within the gap allowance before it counts too.
 */
async function overlappedAlarms(
  c: PoolClient,
  found: readonly Found[],
): Promise<Map<number, Recorded>> {
  if (found.length === 0) return new Map();
  const { rows } = await c.query<{
    i: string;
    id: string;
    since: Date;
    until: Date | null;
    last_out_at: string | null;
    reached_at: string | null;
    peak: number | null;
  }>(
    `select distinct on (u.i) u.i::text, a.id::text, a.since, a.until,
            a.detail->>'last_out_at' as last_out_at, a.detail->>'reached_at' as reached_at,
            (a.detail->>'peak')::float8 as peak
     from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
            with ordinality as u(device_id, sensor, rule_id, reach, last, i)
     join alarm a on a.device_id = u.device_id and a.sensor = u.sensor
                 and a.rule_id = u.rule_id and a.historical and a.since <= u.last
                 and coalesce(a.until, (a.detail->>'last_out_at')::timestamptz, a.since)
                     >= u.reach
     order by u.i, a.since`,
    [
      found.map((f) => f.ctx.deviceId),
      found.map((f) => f.episode.sensor),
      found.map((f) => f.episode.rule.id),
      found.map((f) => {
        const back = f.episode.since === f.firstTime ? gapMs(f.ctx.profile.rules) : 0;
        return new Date(f.episode.since - back);
      }),
      found.map((f) => new Date(f.episode.until ?? f.episode.lastOutAt)),
    ],
  );
  const out = new Map<number, Recorded>();
  for (const r of rows) {
    const since = r.since.getTime();
    const until = r.until?.getTime() ?? null;
    out.set(Number(r.i) - 1, {
      id: r.id,
      since,
      until,
      lastOutAt: r.last_out_at ? Date.parse(r.last_out_at) : (until ?? since),
      raisedAt: r.reached_at ? Date.parse(r.reached_at) : since,
      peak: r.peak,
    });
  }
  return out;
}

/** An episode to write: a new historical alarm, or the one `id` extended. */
interface Write extends Found {
  id: string | null;
}

/**
 * Folds each episode into the historical alarm it overlaps (several episodes into
 * one alarm make one write); the others become new alarms, one per alarm key.
 */
function mergeInto(found: readonly Found[], overlapped: Map<number, Recorded>): Write[] {
  const byKey = new Map<string, Write>();
  found.forEach((f, i) => {
    const a = overlapped.get(i);
    const e = f.episode;
    const key = a
      ? `alarm\u0000${a.id}`
      : `${f.ctx.deviceId}\u0000${e.sensor}\u0000${e.rule.id}\u0000${e.since}`;
    const before = byKey.get(key);
    const into = before?.episode ?? (a && asEpisode(e, a));
    byKey.set(key, {
      ...f,
      id: a?.id ?? null,
      episode: into ? joined(into, e) : e,
      reportedAt: Math.max(f.reportedAt, before?.reportedAt ?? -Infinity),
    });
  });
  return [...byKey.values()];
}

/** The stored alarm as an episode of the rule `e` is of. */
function asEpisode(e: Episode, a: Recorded): Episode {
  const { since, until, lastOutAt, raisedAt, peak } = a;
  return { rule: e.rule, sensor: e.sensor, since, raisedAt, until, lastOutAt, peak };
}

/** One episode covering both: the first start, the last end, the worst peak. */
function joined(a: Episode, b: Episode): Episode {
  const [first, last] = a.lastOutAt <= b.lastOutAt ? [a, b] : [b, a];
  // An end is the first reading back in range: one the other episode was still out at is none.
  const until =
    last.until ??
    (first.until !== null && first.until > last.lastOutAt ? first.until : null);
  return {
    ...a,
    since: Math.min(a.since, b.since),
    raisedAt: Math.min(a.raisedAt, b.raisedAt),
    until: until !== null && first.until !== null ? Math.max(until, first.until) : until,
    lastOutAt: last.lastOutAt,
    peak: worse(a.rule, a.peak, b.peak),
  };
}

function worse(rule: ExcursionRule, x: number | null, y: number | null): number | null {
  if (x === null) return y;
  if (y === null) return x;
  return rule.direction === 'high' ? Math.max(x, y) : Math.min(x, y);
}

/**
 * Extends the historical alarms episodes overlap and inserts the others, in one
 * statement; returns the new ones.
 */
async function recordEpisodes(
  c: PoolClient,
  list: readonly Write[],
): Promise<AlarmRow[]> {
  if (list.length === 0) return [];
  const { rows } = await c.query<AlarmRow & { inserted: boolean }>(
    `with u as (
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                            $6::timestamptz[], $7::timestamptz[], $8::text[], $9::jsonb[],
                            $10::text[], $11::bigint[])
         with ordinality as u(device_id, sensor, rule_id, severity, profile, since, until,
                              summary, detail, site, id, i)),
     upd as (
       update alarm as al set since = u.since, until = u.until, summary = u.summary,
                              detail = al.detail || u.detail
       from u
       where u.id is not null and al.id = u.id and al.historical
         and (al.since, al.until, al.detail->'last_out_at', al.detail->'peak')
             is distinct from (u.since, u.until, u.detail->'last_out_at', u.detail->'peak')
       returning al.*, false as inserted),
     ins as (
       insert into alarm as al (device_id, sensor, rule_id, kind, severity, historical, state,
                                profile, since, until, cleared_at, summary, detail, site)
       select device_id, sensor, rule_id, 'historical_excursion', severity, true, 'cleared',
              profile, since, until, now(), summary, detail, site
       from u where u.id is null order by i
       on conflict (device_id, sensor, rule_id, since) where historical
       do update set until = excluded.until, summary = excluded.summary,
                     detail = excluded.detail
         where al.until is distinct from excluded.until
       returning *, (xmax = 0) as inserted),
     a as (select * from upd union all select * from ins),
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
      list.map((f) => f.id),
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
