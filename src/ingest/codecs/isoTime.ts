/**
 * ISO 8601 date-times as devices send them: `2026-01-05T10:00:00Z`,
 * `2026-01-05T11:00:00.250+01:00`, `2026-01-05 10:00:00` (no offset: UTC).
 *
 * Date.parse is not used on purpose: it accepts many other forms ("Jan 5 2026") in the
 * server's local time zone and rolls impossible dates over (31 February becomes
 * 3 March), either of which would store a wrong time.
 */
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

/** Largest offset from UTC accepted, in minutes (ISO 8601 allows up to ±18:00). */
const MAX_OFFSET_MIN = 18 * 60;

/**
 * Milliseconds since 1970 for an ISO 8601 date-time with at least hours and minutes,
 * read as UTC when it carries no offset; undefined when the text is not one or names
 * a date or time that does not exist. Fractions beyond milliseconds are cut off.
 */
export function parseIsoTime(text: string): number | undefined {
  return parseIsoTimeIn(text, wallAsUtc);
}

/** Wall-clock fields of a time written without an offset; month 1–12. */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** Turns wall-clock fields into milliseconds since 1970, in some time zone. */
export type WallClock = (wall: WallTime) => number;

/**
 * As parseIsoTime, but a time without an offset is a wall-clock time that `zone`
 * turns into an instant (the device's time zone).
 */
export function parseIsoTimeIn(text: string, zone: WallClock): number | undefined {
  const m = ISO_DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  const wall = { year, month, day, hour, minute, second };
  if (!isValidWallTime(wall)) return undefined;
  if (m[8] !== undefined) return wallAsUtc(wall) + ms;
  if (m[9] === undefined) return zone(wall) + ms;

  const oh = Number(m[10]);
  const om = Number(m[11]);
  if (om > 59) return undefined;
  const offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  if (Math.abs(offsetMin) > MAX_OFFSET_MIN) return undefined;
  return wallAsUtc(wall) + ms - offsetMin * 60_000;
}

/** True when the fields name a date and time that exist (no 31 February, no 24:00). */
export function isValidWallTime(w: WallTime): boolean {
  if (w.month < 1 || w.month > 12 || w.day < 1 || w.day > daysIn(w.year, w.month))
    return false;
  return w.hour <= 23 && w.minute <= 59 && w.second <= 59;
}

/** The wall-clock fields read as UTC. */
export function wallAsUtc(w: WallTime): number {
  const utc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  // Date.UTC maps years 0–99 to 1900–1999; such times are untrusted either way, but
  // the value must still be the one the device sent.
  return w.year < 100 ? new Date(utc).setUTCFullYear(w.year) : utc;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  return month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}
