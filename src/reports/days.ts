/**
 * Calendar days in a time zone: where a local day starts, as an instant. Reports and
 * daily windows use them; a day in a zone with daylight saving may last 23 or 25 hours.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** True when `tz` is a time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function localParts(t: number, tz: string): LocalParts {
  const out: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(t))) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return out as unknown as LocalParts;
}

/** Milliseconds the zone's clock is ahead of UTC at instant `t`. */
function offsetAt(t: number, tz: string): number {
  if (tz === 'UTC') return 0;
  const p = localParts(t, tz);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(t / 1000) * 1000;
}

/** The local date `YYYY-MM-DD` holding instant `t` (ms) in `tz`. */
export function localDate(t: number, tz: string): string {
  return new Date(t + offsetAt(t, tz)).toISOString().slice(0, 10);
}

/** The instant (ms) the local date `YYYY-MM-DD` begins in `tz`. */
export function dayStart(date: string, tz: string): number {
  const midnightUtc = Date.parse(`${date}T00:00:00Z`);
  let guess = midnightUtc - offsetAt(midnightUtc, tz);
  guess = midnightUtc - offsetAt(guess, tz);
  return guess;
}

/** The last local day looked up per zone, [start, end) in ms: readings come in time order. */
const lastDay = new Map<string, { start: number; end: number }>();

/** The start (ms) of the local day holding instant `t`. */
export function startOfDayAt(t: number, tz: string): number {
  const last = lastDay.get(tz);
  if (last && t >= last.start && t < last.end) return last.start;
  const date = localDate(t, tz);
  const day = { start: dayStart(date, tz), end: dayStart(nextDate(date), tz) };
  if (lastDay.size >= 64) lastDay.clear();
  lastDay.set(tz, day);
  return day.start;
}

/** The local date after `date`. */
export function nextDate(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000)
    .toISOString()
    .slice(0, 10);
}
