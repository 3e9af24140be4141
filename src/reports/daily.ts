/**
 * The daily report of a device: for each calendar day (in a time zone) and sensor,
 * what a cold-chain logger reports for it: readings, minimum, maximum, mean, mean
 * kinetic temperature, minutes below and above the profile's range, the time without
 * data and its gaps, and the alarms whose episode touched the day.
 *
 * Minimum, maximum and mean are over the valid readings of the day (the mean is the
 * plain average, as loggers give it); minutes and MKT weigh each reading by how long
 * it stood (coverage.ts), cut at midnight. Each moment is judged by the profile in
 * force then (profileHistory.ts): its range for the minutes below and above, its
 * offline minutes for how long a reading stands. A day whose profile changed is cut
 * at the change, and lists each profile with the part of the day it covered.
 */
import type { Pool } from '../db/pool.js';
import { getDeviceProfile } from '../alarms/profileStore.js';
import { gapMs, type ProfileRules } from '../alarms/profile.js';
import { coverage, durationWhere, type Stretch } from './coverage.js';
import { dayStart, nextDate } from './days.js';
import { meanKineticTemperature } from './mkt.js';
import { profilePeriods, type ProfilePeriod } from './profileHistory.js';
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
  /** The profiles in force during the day, in order: one, unless it changed that day. */
  profiles: DayProfile[];
  alarms: DayAlarm[];
}

/** A profile in force over part of a day (or all of it). */
export interface DayProfile {
  profile: string;
  range: ProfileRules['range'];
  from: string;
  to: string;
}

export interface DailyReport {
  device_id: string;
  /** The device's profile now; each day says which it had then (`profiles`). */
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

/**
 * The report; undefined when the device is unknown. Today is counted up to `now`
 * only (its minutes still to come are not minutes without data), and days after
 * today have no row.
 */
export async function dailyReport(
  pool: Pool,
  q: DailyQuery,
  now = Date.now(),
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
  const history = await profilePeriods(
    pool,
    q.deviceId,
    dayStart(q.from, q.tz),
    dayStart(nextDate(q.to), q.tz),
  );
  const days: DailyRow[] = [];
  for (let date = q.from; date <= q.to; date = nextDate(date)) {
    const start = dayStart(date, q.tz);
    const end = Math.min(dayStart(nextDate(date), q.tz), now);
    if (end <= start) break;
    const periods = within(history, start, end);
    if (periods.length === 0) periods.push({ from: start, to: end, profile: dp.profile });
    const gap = Math.max(...periods.map((p) => gapMs(p.profile.rules)));
    const bySensor = await readSamples(pool, q.deviceId, start - gap, end + gap);
    if (bySensor.size === 0) bySensor.set('', { valid: [], invalid: [] });
    for (const [sensor, samples] of bySensor) {
      const mine = alarms.filter(
        (a) =>
          (a.sensor === sensor || a.sensor === '') &&
          a.since.getTime() < end &&
          (a.until?.getTime() ?? Infinity) >= start,
      );
      days.push({ ...dayRow(periods, samples, start, end), date, sensor, alarms: mine });
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

function within(periods: readonly ProfilePeriod[], from: number, to: number) {
  return periods
    .map((p) => ({ ...p, from: Math.max(p.from, from), to: Math.min(p.to, to) }))
    .filter((p) => p.to > p.from);
}

function dayRow(
  periods: readonly ProfilePeriod[],
  samples: SensorSamples,
  start: number,
  end: number,
): Omit<DailyRow, 'date' | 'sensor' | 'alarms'> {
  const inDay = samples.valid
    .filter((s) => s.time >= start && s.time < end)
    .map((s) => s.valueC);
  const known: Stretch[] = [];
  const gaps: Array<{ start: number; end: number }> = [];
  let below = 0;
  let above = 0;
  for (const p of periods) {
    const cov = coverage(samples.valid, gapMs(p.profile.rules), p.from, p.to);
    const { low, high, inclusive } = p.profile.rules.range;
    below += durationWhere(cov.known, (v) => (inclusive ? v <= low : v < low));
    above += durationWhere(cov.known, (v) => (inclusive ? v >= high : v > high));
    known.push(...cov.known);
    gaps.push(...cov.gaps);
  }
  const joined = joinGaps(gaps);
  const minutes = (ms: number): number => Math.round(ms / 60_000);
  return {
    readings: inDay.length,
    invalid_readings: samples.invalid.filter((t) => t >= start && t < end).length,
    min_c: inDay.length ? Math.min(...inDay) : null,
    max_c: inDay.length ? Math.max(...inDay) : null,
    mean_c: inDay.length
      ? round(inDay.reduce((a, b) => a + b, 0) / inDay.length, 2)
      : null,
    mkt_c: round(meanKineticTemperature(known), 2),
    minutes_below: minutes(below),
    minutes_above: minutes(above),
    minutes_no_data: minutes(joined.reduce((a, g) => a + g.end - g.start, 0)),
    gaps: joined.map((g) => ({
      from: new Date(g.start).toISOString(),
      to: new Date(g.end).toISOString(),
      minutes: minutes(g.end - g.start),
    })),
    profiles: periods.map((p) => ({
      profile: p.profile.name,
      range: p.profile.rules.range,
      from: new Date(p.from).toISOString(),
      to: new Date(p.to).toISOString(),
    })),
  };
}

/** Gaps of consecutive periods, in order, those that meet at a period's edge made one. */
function joinGaps(
  gaps: ReadonlyArray<{ start: number; end: number }>,
): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  for (const g of gaps) {
    const last = out.at(-1);
    if (last && last.end === g.start) last.end = g.end;
    else out.push({ ...g });
  }
  return out;
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
