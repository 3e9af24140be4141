import {
  isValidWallTime,
  parseIsoTimeIn,
  wallAsUtc,
  type WallClock,
} from '../ingest/codecs/isoTime.js';
import { MappingError } from './mappingError.js';

/**
 * How a mapping's device time is written:
 * - `auto`: ISO 8601, or a number of seconds since 1970 (milliseconds above 10¹¹);
 * - `epoch_s`, `epoch_ms`: seconds or milliseconds since 1970-01-01 UTC;
 * - `epoch_2000`: seconds since 2000-01-01 UTC (MicroPython's `time.time()`);
 * - `iso`: ISO 8601, with or without an offset;
 * - `pattern`: the mapping's `time_pattern`, e.g. `DD/MM/YYYY HH:mm:ss`.
 * Numbers may come as JSON numbers or as decimal strings. A time without an offset is
 * a wall-clock time in the device's time zone.
 */
export type TimeFormat =
  'auto' | 'epoch_s' | 'epoch_ms' | 'epoch_2000' | 'iso' | 'pattern';

export const TIME_FORMATS: readonly TimeFormat[] = [
  'auto',
  'epoch_s',
  'epoch_ms',
  'epoch_2000',
  'iso',
  'pattern',
];

/** Milliseconds since 1970 for a device time, or undefined when it is not in the format. */
export type TimeReader = (value: unknown, clock: WallClock) => number | undefined;

/** 2000-01-01T00:00:00Z in seconds since 1970. */
const EPOCH_2000_S = 946_684_800;
/** Numbers above this are milliseconds (10¹¹ s is the year 5138). */
const MS_ABOVE = 1e11;

export function timeReader(format: TimeFormat, pattern?: string): TimeReader {
  switch (format) {
    case 'epoch_s':
      return (v) => scaled(v, 1000, 0);
    case 'epoch_ms':
      return (v) => scaled(v, 1, 0);
    case 'epoch_2000':
      return (v) => scaled(v, 1000, EPOCH_2000_S * 1000);
    case 'iso':
      return (v, clock) => (typeof v === 'string' ? parseIsoTimeIn(v, clock) : undefined);
    case 'pattern':
      return patternReader(pattern ?? '');
    case 'auto':
      return (v, clock) => {
        const n = numberOf(v);
        if (n !== undefined) return n > MS_ABOVE ? n : n * 1000;
        return typeof v === 'string' ? parseIsoTimeIn(v, clock) : undefined;
      };
  }
}

function numberOf(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && /^\s*[+-]?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

function scaled(v: unknown, factor: number, offsetMs: number): number | undefined {
  const n = numberOf(v);
  return n === undefined ? undefined : n * factor + offsetMs;
}

/** Pattern tokens and what each matches; other characters stand for themselves. */
const TOKENS: ReadonlyArray<[token: string, regex: string]> = [
  ['YYYY', '(?<year>\\d{4})'],
  ['SSS', '(?<ms>\\d{3})'],
  ['MM', '(?<month>\\d{2})'],
  ['DD', '(?<day>\\d{2})'],
  ['HH', '(?<hour>\\d{2})'],
  ['mm', '(?<minute>\\d{2})'],
  ['ss', '(?<second>\\d{2})'],
  ['Z', '(?<offset>Z|[+-]\\d{2}:?\\d{2})'],
];
const REQUIRED = ['YYYY', 'MM', 'DD', 'HH', 'mm'];

/**
 * Compiles a `time_pattern` (`YYYY` year, `MM` month, `DD` day, `HH` hour 00–23,
 * `mm` minute, `ss` second, `SSS` milliseconds, `Z` an offset such as `+01:00`).
 */
export function patternReader(pattern: string): TimeReader {
  let source = '';
  const seen = new Set<string>();
  for (let rest = pattern; rest.length > 0;) {
    const hit = TOKENS.find(([token]) => rest.startsWith(token));
    if (hit) {
      if (seen.has(hit[0]))
        throw new MappingError(`time_pattern: ${hit[0]} appears twice`);
      seen.add(hit[0]);
      source += hit[1];
      rest = rest.slice(hit[0].length);
    } else {
      source += rest[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      rest = rest.slice(1);
    }
  }
  const missing = REQUIRED.filter((t) => !seen.has(t));
  if (missing.length > 0) {
    throw new MappingError(
      `time_pattern ${JSON.stringify(pattern)} lacks ${missing.join(', ')}; e.g. "DD/MM/YYYY HH:mm:ss"`,
    );
  }
  const regex = new RegExp(`^${source}$`);
  return (v, clock) => {
    const g = typeof v === 'string' ? regex.exec(v.trim())?.groups : undefined;
    if (!g) return undefined;
    const wall = {
      year: Number(g.year),
      month: Number(g.month),
      day: Number(g.day),
      hour: Number(g.hour),
      minute: Number(g.minute),
      second: g.second === undefined ? 0 : Number(g.second),
    };
    if (!isValidWallTime(wall)) return undefined;
    const ms = g.ms === undefined ? 0 : Number(g.ms);
    if (g.offset === undefined) return clock(wall) + ms;
    return wallAsUtc(wall) + ms - offsetMinutes(g.offset) * 60_000;
  };
}

function offsetMinutes(text: string): number {
  if (text === 'Z') return 0;
  const digits = text.replace(':', '');
  const minutes = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5));
  return text.startsWith('-') ? -minutes : minutes;
}
