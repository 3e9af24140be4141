/**
 * Local wall-clock times without a zone (as loggers write them) turned into instants,
 * for a time zone given as an IANA name (`Europe/Berlin`), `UTC`, or a fixed offset
 * (`+02:00`).
 */

import { wallAsUtc, type WallClock } from './isoTime.js';

/**
 * The resolver for `zone`. Throws when the zone is unknown. In a zone with daylight
 * saving time, a wall time that occurs twice (autumn) resolves to its first
 * occurrence and one that does not occur (spring) is read with the offset before the
 * change.
 */
export function zoneResolver(zone: string): WallClock {
  const fixed = fixedOffsetMs(zone);
  if (fixed !== undefined) return (w) => wallAsUtc(w) - fixed;
  const format = formatterFor(zone);
  return (w) => {
    const wall = wallAsUtc(w);
    // Real zones change their offset at most once within two days: the offsets a day
    // before and a day after are the only candidates.
    const before = offsetAt(format, wall - DAY_MS);
    const after = offsetAt(format, wall + DAY_MS);
    const valid = [before, after]
      .map((offset) => wall - offset)
      .filter((t) => offsetAt(format, t) === wall - t);
    return valid.length > 0 ? Math.min(...valid) : wall - before;
  };
}

const DAY_MS = 86_400_000;

function fixedOffsetMs(zone: string): number | undefined {
  if (/^(UTC|GMT|Z)$/i.test(zone)) return 0;
  const m = /^(?:UTC|GMT)?([+-])(\d\d):?(\d\d)$/i.exec(zone);
  if (!m) return undefined;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  if (Number(m[3]) > 59 || minutes > 14 * 60) {
    throw new Error(
      `time zone offset ${zone} is out of range; give one from -14:00 to +14:00`,
    );
  }
  return (m[1] === '-' ? -1 : 1) * minutes * 60_000;
}

function formatterFor(zone: string): Intl.DateTimeFormat {
  try {
    return new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw new Error(
      `unknown time zone ${JSON.stringify(zone)}; give an IANA name such as ` +
        'Europe/Berlin, UTC, or an offset such as +02:00',
    );
  }
}

/** The zone's offset from UTC at the instant `ms`, in milliseconds. */
function offsetAt(format: Intl.DateTimeFormat, ms: number): number {
  const f: Record<string, number> = {};
  for (const p of format.formatToParts(new Date(ms))) {
    if (p.type !== 'literal') f[p.type] = Number(p.value);
  }
  const asUtc = Date.UTC(
    f.year ?? 1970,
    (f.month ?? 1) - 1,
    f.day ?? 1,
    f.hour ?? 0,
    f.minute ?? 0,
    f.second ?? 0,
  );
  return asUtc - (ms - (((ms % 1000) + 1000) % 1000));
}
