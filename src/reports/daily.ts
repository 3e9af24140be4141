/**
 * The daily report of a device: for each calendar day (in a time zone) and sensor,
 * what a cold-chain logger reports for it: readings, minimum, maximum, mean, mean
 * kinetic temperature, minutes below and above the profile's range, the time without
 * data and its gaps, and the alarms whose episode touched the day.
 *
 * Minimum, maximum and mean are over the valid readings of the day (the mean is the
 * plain average, as loggers give it); minutes and MKT weigh each reading by how long
 * it stood (coverage.ts), cut at midnight. The range is the device's current profile.
 */
import type { Pool } from '../db/pool.js';
import { getDeviceProfile } from '../alarms/profileStore.js';
import { gapMs, type ProfileRules } from '../alarms/profile.js';
import { coverage, durationWhere } from './coverage.js';
import { dayStart, nextDate } from './days.js';
import { meanKineticTemperature } from './mkt.js';
import { readSamples, type SensorSamples } from './samples.js';

export interface DayAlarm {
  id: string;
  kind: string;
  rule_id: string;
  sensor: string;
  state: string;
  historical: boolean;
  since: Date;
  until: Date | null;
  /** When the alarm's condition was met (an excursion's duration reached), if known. */
  reached_at: string | null;
}

export interface DailyRow {
  date: string;
  sensor: string;
  readings: number;
  invalid_readings: number;
  min_c: number | null;
  max_c: number | null;
  mean_c: number | null;
  mkt_c: number | null;
  minutes_below: number;
  minutes_above: number;
  minutes_no_data: number;
  gaps: Array<{ from: string; to: string; minutes: number }>;
  alarms: DayAlarm[];
}

export interface DailyReport {
  device_id: string;
  profile: string;
  time_zone: string;
  range: ProfileRules['range'];
  from: string;
  to: string;
  days: DailyRow[];
}

export interface DailyQuery {
  deviceId: string;
  /** First and last local date, `YYYY-MM-DD`, inclusive. */
  from: string;
  to: string;
  tz: string;
}

/** The report; undefined when the device is unknown. */
export async function dailyReport(
  pool: Pool,
  q: DailyQuery,
): Promise<DailyReport | undefined> {
  const dp = await getDeviceProfile(pool, q.deviceId);
  if (!dp) return undefined;
  const rules = dp.profile.rules;
  const alarms = await alarmsBetween(
    pool,
    q.deviceId,
    dayStart(q.from, q.tz),
    dayStart(nextDate(q.to), q.tz),
  );
  const days: DailyRow[] = [];
  for (let date = q.from; date <= q.to; date = nextDate(date)) {
    const start = dayStart(date, q.tz);
    const end = dayStart(nextDate(date), q.tz);
    const gap = gapMs(rules);
    const bySensor = await readSamples(pool, q.deviceId, start - gap, end + gap);
    if (bySensor.size === 0) bySensor.set('', { valid: [], invalid: [] });
    for (const [sensor, samples] of bySensor) {
      const mine = alarms.filter(
        (a) =>
          (a.sensor === sensor || a.sensor === '') &&
          a.since.getTime() < end &&
          (a.until?.getTime() ?? Infinity) >= start,
      );
      days.push({ ...dayRow(rules, samples, start, end), date, sensor, alarms: mine });
    }
  }
  return {
    device_id: q.deviceId,
    profile: dp.profile.name,
    time_zone: q.tz,
    range: rules.range,
    from: q.from,
    to: q.to,
    days,
  };
}

function dayRow(
  rules: ProfileRules,
  samples: SensorSamples,
  start: number,
  end: number,
): Omit<DailyRow, 'date' | 'sensor' | 'alarms'> {
  const inDay = samples.valid
    .filter((s) => s.time >= start && s.time < end)
    .map((s) => s.valueC);
  const cov = coverage(samples.valid, gapMs(rules), start, end);
  const { low, high, inclusive } = rules.range;
  const minutes = (ms: number): number => Math.round(ms / 60_000);
  return {
    readings: inDay.length,
    invalid_readings: samples.invalid.filter((t) => t >= start && t < end).length,
    min_c: inDay.length ? Math.min(...inDay) : null,
    max_c: inDay.length ? Math.max(...inDay) : null,
    mean_c: inDay.length
      ? round(inDay.reduce((a, b) => a + b, 0) / inDay.length, 2)
      : null,
    mkt_c: round(meanKineticTemperature(cov.known), 2),
    minutes_below: minutes(
      durationWhere(cov.known, (v) => (inclusive ? v <= low : v < low)),
    ),
    minutes_above: minutes(
      durationWhere(cov.known, (v) => (inclusive ? v >= high : v > high)),
    ),
    minutes_no_data: minutes(cov.gaps.reduce((a, g) => a + g.end - g.start, 0)),
    gaps: cov.gaps.map((g) => ({
      from: new Date(g.start).toISOString(),
      to: new Date(g.end).toISOString(),
      minutes: minutes(g.end - g.start),
    })),
  };
}

function round<T extends number | null>(v: T, digits: number): T {
  if (v === null) return v;
  const f = 10 ** digits;
  return (Math.round(v * f) / f) as T;
}

async function alarmsBetween(
  pool: Pool,
  deviceId: string,
  from: number,
  to: number,
): Promise<DayAlarm[]> {
  const { rows } = await pool.query<DayAlarm>(
    `select id::text, kind, rule_id, sensor, state, historical, since, until,
            detail ->> 'reached_at' as reached_at
     from alarm
     where device_id = $1 and since < $3 and coalesce(until, 'infinity') >= $2
     order by since, id`,
    [deviceId, new Date(from), new Date(to)],
  );
  return rows;
}
