/**
 * A device's temperature and humidity over a time range, at most `points` values:
 * the readings themselves when there are that few, otherwise time buckets aggregated
 * in SQL (minimum, mean and maximum per bucket), so that a chart of 30 days of
 * readings every 30 seconds (86,400 rows) costs one indexed scan and ships a few
 * hundred values. Buckets have a round width (1 s … 1 day) aligned to the Unix epoch,
 * so zooming in or out keeps the same boundaries. Gaps are the stretches without a
 * reading for longer than the profile's offline minutes, as the daily report counts
 * them.
 */
import { listAlarms } from '../alarms/alarmQuery.js';
import type { AlarmKind } from '../alarms/events.js';
import { gapMs, type ProfileRules } from '../alarms/profile.js';
import type { Pool } from '../db/pool.js';

/** Bucket widths in seconds; the narrowest that keeps the count within `points`. */
const WIDTHS_S = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
  86400,
];

export interface SeriesQuery {
  deviceId: string;
  sensor: string;
  from: Date;
  to: Date;
  /** Most values to return, default 600. */
  points: number;
}

/** Columns of equal length, one entry per reading or bucket (uPlot's data layout). */
export interface SeriesColumns {
  /** Milliseconds since the epoch: the reading's time, or the bucket's start. */
  t: number[];
  /** °C: the reading, or the mean of the bucket's valid readings. */
  temperature: Array<number | null>;
  min: Array<number | null>;
  max: Array<number | null>;
  humidity: Array<number | null>;
  /** Readings in the bucket (1 for a reading), and how many of them were invalid. */
  count: number[];
  invalid: number[];
  /** Reading ids, at reading resolution only (for their proofs). */
  ids: string[] | null;
}

export interface Series extends SeriesColumns {
  device_id: string;
  sensor: string;
  /** Probes seen in the device's recent readings ('' is the device's only one). */
  sensors: string[];
  from: Date;
  to: Date;
  resolution: 'reading' | 'bucket';
  bucket_s: number | null;
  range: ProfileRules['range'];
  /** Longer than this without a reading is a gap (the profile's offline minutes). */
  gap_after_s: number;
  gaps: Array<{ from: Date; to: Date }>;
  alarms: SeriesAlarm[];
}

export interface SeriesAlarm {
  id: string;
  kind: AlarmKind;
  severity: string;
  state: string;
  historical: boolean;
  since: Date;
  until: Date | null;
  summary: string;
  acknowledged_by: string | null;
}

interface RawRow {
  id: string;
  t: number;
  temperature_c: number | null;
  humidity_pct: number | null;
  quality: 'good' | 'invalid';
}

interface BucketRow {
  t: number;
  temperature: number | null;
  min: number | null;
  max: number | null;
  humidity: number | null;
  count: number;
  invalid: number;
}

/** The bucket width for `spanMs` in at most `points` buckets, in seconds. */
export function bucketWidth(spanMs: number, points: number): number {
  const need = spanMs / 1000 / points;
  return WIDTHS_S.find((w) => w >= need) ?? Math.ceil(need / 86400) * 86400;
}

export async function loadSeries(
  pool: Pool,
  q: SeriesQuery,
  rules: ProfileRules,
  now: Date,
): Promise<Series> {
  const raw = await pool.query<RawRow>(
    `select id::text, (extract(epoch from time) * 1000)::float8 as t, temperature_c,
            humidity_pct, quality
     from reading
     where device_id = $1 and sensor = $2 and time >= $3 and time < $4
     order by time, id limit $5`,
    [q.deviceId, q.sensor, q.from, q.to, q.points + 1],
  );
  let columns: SeriesColumns;
  let bucketS: number | null = null;
  if (raw.rows.length <= q.points) {
    columns = readingColumns(raw.rows);
  } else {
    bucketS = bucketWidth(q.to.getTime() - q.from.getTime(), q.points);
    columns = await bucketColumns(pool, q, bucketS);
  }
  const gapAfterMs = gapMs(rules);
  const [sensors, alarms] = await Promise.all([
    sensorsOf(pool, q.deviceId),
    alarmsIn(pool, q),
  ]);
  const end = new Date(Math.min(q.to.getTime(), now.getTime()));
  return {
    device_id: q.deviceId,
    sensor: q.sensor,
    sensors,
    from: q.from,
    to: q.to,
    resolution: bucketS === null ? 'reading' : 'bucket',
    bucket_s: bucketS,
    range: rules.range,
    gap_after_s: gapAfterMs / 1000,
    gaps: findGaps(columns.t, (bucketS ?? 0) * 1000, gapAfterMs, q.from, end),
    alarms,
    ...columns,
  };
}

function readingColumns(rows: RawRow[]): SeriesColumns {
  const good = (r: RawRow, v: number | null): number | null =>
    r.quality === 'good' ? v : null;
  return {
    t: rows.map((r) => r.t),
    temperature: rows.map((r) => good(r, r.temperature_c)),
    min: rows.map((r) => good(r, r.temperature_c)),
    max: rows.map((r) => good(r, r.temperature_c)),
    humidity: rows.map((r) => r.humidity_pct),
    count: rows.map(() => 1),
    invalid: rows.map((r) => (r.quality === 'invalid' ? 1 : 0)),
    ids: rows.map((r) => r.id),
  };
}

async function bucketColumns(
  pool: Pool,
  q: SeriesQuery,
  widthS: number,
): Promise<SeriesColumns> {
  const { rows } = await pool.query<BucketRow>(
    `select (extract(epoch from b) * 1000)::float8 as t,
            round(avg(temperature_c) filter (where quality = 'good')::numeric, 3)::float8
              as temperature,
            min(temperature_c) filter (where quality = 'good') as min,
            max(temperature_c) filter (where quality = 'good') as max,
            round(avg(humidity_pct)::numeric, 2)::float8 as humidity,
            count(*)::int as count,
            (count(*) filter (where quality = 'invalid'))::int as invalid
     from (select date_bin(make_interval(secs => $5), time, timestamptz 'epoch') as b,
                  temperature_c, humidity_pct, quality
           from reading
           where device_id = $1 and sensor = $2 and time >= $3 and time < $4) r
     group by b order by b`,
    [q.deviceId, q.sensor, q.from, q.to, widthS],
  );
  return {
    t: rows.map((r) => r.t),
    temperature: rows.map((r) => r.temperature),
    min: rows.map((r) => r.min),
    max: rows.map((r) => r.max),
    humidity: rows.map((r) => r.humidity),
    count: rows.map((r) => r.count),
    invalid: rows.map((r) => r.invalid),
    ids: null,
  };
}

/**
 * Stretches longer than `afterMs` with no reading: between two values (a bucket
 * `widthMs` wide ends at its start plus the width), before the first and after the
 * last one, up to `end`.
 */
export function findGaps(
  t: readonly number[],
  widthMs: number,
  afterMs: number,
  from: Date,
  end: Date,
): Array<{ from: Date; to: Date }> {
  const gaps: Array<{ from: Date; to: Date }> = [];
  let covered = from.getTime();
  for (const start of t) {
    if (start - covered > afterMs)
      gaps.push({ from: new Date(covered), to: new Date(start) });
    covered = Math.max(covered, start + widthMs);
  }
  if (end.getTime() - covered > afterMs)
    gaps.push({ from: new Date(covered), to: new Date(end.getTime()) });
  return gaps;
}

async function sensorsOf(pool: Pool, deviceId: string): Promise<string[]> {
  // The recent readings only: `sensor` is not in the (device_id, time) index.
  const { rows } = await pool.query<{ sensor: string }>(
    `select distinct sensor from (select sensor from reading where device_id = $1
                                  order by time desc limit 500) r order by sensor`,
    [deviceId],
  );
  return rows.map((r) => r.sensor);
}

async function alarmsIn(pool: Pool, q: SeriesQuery): Promise<SeriesAlarm[]> {
  const rows = await listAlarms(pool, {
    deviceId: q.deviceId,
    from: q.from,
    to: q.to,
    limit: 500,
  });
  return rows
    .filter((a) => a.sensor === q.sensor || a.sensor === '')
    .map((a) => ({
      id: a.id,
      kind: a.kind,
      severity: a.severity,
      state: a.state,
      historical: a.historical,
      since: a.since,
      until: a.until,
      summary: a.summary,
      acknowledged_by: a.acknowledged_by,
    }));
}
