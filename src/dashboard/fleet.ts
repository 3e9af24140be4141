/**
 * The fleet summary: one tile per device with its last reading, a 24-hour sparkline
 * (half-hour means of the valid temperatures, aggregated in SQL), the range of its
 * profile, its live alarms and its status, worst first. One statement for any number
 * of devices; the same SQL runs on PostgreSQL and on the embedded PGlite. With a
 * SparkCache, the statement reads only the current half hour of the sparklines.
 */
import type { AlarmKind } from '../alarms/events.js';
import { DEFAULT_PROFILE, type ProfileRules } from '../alarms/profile.js';
import { listProfiles } from '../alarms/profileStore.js';
import type { Pool } from '../db/pool.js';
import {
  SPARK_BUCKETS,
  SPARK_STEP_S,
  sparkWindow,
  type SparkCache,
  type SparkPast,
} from './sparkCache.js';
import { statusesOf, statusRank, type DeviceStatus } from './status.js';

export { SPARK_BUCKETS, SPARK_STEP_S };

/** One device as the fleet view shows it. */
export interface FleetTile {
  device_id: string;
  site: string | null;
  /** The registry's state: a disabled device's messages are quarantined. */
  registry_status: 'active' | 'disabled';
  profile: string;
  range: { low: number; high: number; inclusive: boolean };
  /** The worst of `statuses`. */
  status: DeviceStatus;
  statuses: DeviceStatus[];
  last: {
    time: Date;
    temperature_c: number | null;
    humidity_pct: number | null;
    battery_pct: number | null;
    quality: 'good' | 'invalid';
  } | null;
  last_seen_at: Date | null;
  /** Mean °C of each bucket from the fleet's `spark.from`; null where none was valid. */
  spark: Array<number | null>;
  /** Kinds of the live alarms not yet cleared. */
  active_alarms: AlarmKind[];
  /** Alarms (live or historical) that nobody has acknowledged yet. */
  unacknowledged: number;
}

export interface Fleet {
  at: Date;
  /**
   * The sparklines' window; `complete` is false when they hold only the current half
   * hour, while the past ones are still being read (just after the API started).
   */
  spark: { from: Date; step_s: number; buckets: number; complete: boolean };
  devices: FleetTile[];
}

interface Row {
  device_id: string;
  site: string | null;
  registry_status: 'active' | 'disabled';
  profile: string;
  last_seen_at: Date | null;
  last_reading_at: Date | null;
  time: Date | null;
  temperature_c: number | null;
  humidity_pct: number | null;
  battery_pct: number | null;
  quality: 'good' | 'invalid' | null;
  spark: Array<[number, number]> | null;
  kinds: AlarmKind[];
  unacknowledged: number;
}

// The sparkline's buckets are counted from `$1` and taken from [$4, $5); `$3` limits
// the devices (null: all).
const FLEET_SQL = `
with dev as (
  select d.device_id, d.site, d.status as registry_status, d.last_seen_at,
         d.last_reading_at,
         coalesce(dp.profile, $2) as profile
  from device d left join device_profile dp on dp.device_id = d.device_id
  where $3::text[] is null or d.device_id = any($3::text[])
),
spark as (
  -- One index range scan per device (device_id, time): the cost follows the devices
  -- and the day shown, not the years of history in the table.
  select dev.device_id,
         (select json_agg(json_build_array(
                   (extract(epoch from b - $1::timestamptz) / ${SPARK_STEP_S})::int,
                   round(t::numeric, 2)) order by b)
          from (select date_bin(make_interval(secs => ${SPARK_STEP_S}), r.time, $1::timestamptz) as b,
                       avg(r.temperature_c) as t
                from reading r
                where r.device_id = dev.device_id
                  and r.time >= $4::timestamptz and r.time < $5::timestamptz
                  and r.quality = 'good' and r.temperature_c is not null
                group by 1) x) as spark
  from dev
),
alarms as (
  select device_id,
         coalesce(array_agg(distinct kind) filter (where state <> 'cleared' and not historical),
                  '{}') as kinds,
         count(*) filter (where acknowledged_at is null)::int as unacknowledged
  from alarm
  where device_id is not null and (state <> 'cleared' or acknowledged_at is null)
    and ($3::text[] is null or device_id = any($3::text[]))
  group by device_id
)
select dev.*, l.time, l.temperature_c, l.humidity_pct, l.battery_pct, l.quality,
       s.spark, coalesce(a.kinds, '{}') as kinds, coalesce(a.unacknowledged, 0) as unacknowledged
from dev
left join lateral (
  select r.time, r.temperature_c, r.humidity_pct, r.battery_pct, r.quality
  -- From the newest reading's time on (ingest keeps it): only the partitions from its
  -- month are looked at, not every month's.
  from reading r
  where r.device_id = dev.device_id
    and r.time >= coalesce(dev.last_reading_at, '-infinity'::timestamptz)
  order by r.time desc limit 1
) l on true
left join spark s on s.device_id = dev.device_id
left join alarms a on a.device_id = dev.device_id`;

/** The fleet, or only the devices named in `only`, worst first. */
export async function loadFleet(
  pool: Pool,
  opts: {
    now?: Date;
    only?: readonly string[];
    sparks?: SparkCache;
    /** With `sparks`: go on without the past half hours while they are read. */
    partial?: boolean;
  } = {},
): Promise<Fleet> {
  const now = opts.now ?? new Date();
  const { from, open, end } = sparkWindow(now);
  const sparks = opts.sparks;
  // With a cache, only the current half hour is read now; the others come from it.
  const [profiles, { rows }, past] = await Promise.all([
    listProfiles(pool),
    // Named, so that each connection plans it once: planning it for the reading
    // table's every monthly partition costs more than running it.
    pool.query<Row>({
      name: 'heru_fleet',
      text: FLEET_SQL,
      values: [from, DEFAULT_PROFILE, opts.only ?? null, sparks ? open : from, end],
    }),
    sparks?.past(from, open, opts.partial !== true),
  ]);
  if (sparks && past) {
    const ids = rows.map((r) => r.device_id);
    const all = await sparks.withDevices(past, from, open, ids);
    for (const r of rows)
      r.spark = [...pairsOf(all, r.device_id, from), ...(r.spark ?? [])];
  }
  const rules = new Map(profiles.map((p) => [p.name, p.rules]));
  const fallback = rules.get(DEFAULT_PROFILE);
  const devices = rows.map((r) => tileOf(r, rules.get(r.profile) ?? fallback, now));
  devices.sort(
    (a, b) =>
      statusRank(a.status) - statusRank(b.status) ||
      b.unacknowledged - a.unacknowledged ||
      a.device_id.localeCompare(b.device_id),
  );
  return {
    at: now,
    spark: {
      from,
      step_s: SPARK_STEP_S,
      buckets: SPARK_BUCKETS,
      complete: !sparks || past !== undefined,
    },
    devices,
  };
}

/** A device's past half hours as (bucket of the window, mean °C) pairs. */
function pairsOf(past: SparkPast, id: string, from: Date): Array<[number, number]> {
  const first = from.getTime() / (SPARK_STEP_S * 1000);
  return [...(past.get(id) ?? [])].map(([h, t]) => [h - first, t]);
}

function tileOf(r: Row, rules: ProfileRules | undefined, now: Date): FleetTile {
  const range = rules?.range ?? { low: 2, high: 8, inclusive: true };
  const last =
    r.time === null || r.quality === null
      ? null
      : {
          time: r.time,
          temperature_c: r.temperature_c,
          humidity_pct: r.humidity_pct,
          battery_pct: r.battery_pct,
          quality: r.quality,
        };
  const statuses = statusesOf({
    activeKinds: r.kinds,
    last: last && { temperatureC: last.temperature_c, quality: last.quality },
    lastSeenAt: r.last_seen_at,
    range,
    offlineMinutes: rules?.offline?.minutes ?? null,
    now,
  });
  const spark = new Array<number | null>(SPARK_BUCKETS).fill(null);
  for (const [b, t] of r.spark ?? []) if (b >= 0 && b < SPARK_BUCKETS) spark[b] = t;
  return {
    device_id: r.device_id,
    site: r.site,
    registry_status: r.registry_status,
    profile: r.profile,
    range,
    status: statuses[0]!,
    statuses,
    last,
    last_seen_at: r.last_seen_at,
    spark,
    active_alarms: r.kinds,
    unacknowledged: r.unacknowledged,
  };
}
