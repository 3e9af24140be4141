import { isValidWallTime, parseIsoTime, wallAsUtc } from '../ingest/codecs/isoTime.js';
import { ApiError } from './errors.js';

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * A time given in a query string: an ISO 8601 date-time (`2026-03-01T08:00:00Z`, no
 * offset meaning UTC) or a date (`2026-03-01`, its start in UTC). A date that does
 * not exist (30 February) is refused, not rolled over into March, as ingest refuses
 * it. Undefined when the parameter is absent or empty.
 */
export function queryTime(v: string | undefined, name: string): Date | undefined {
  if (v === undefined || v === '') return undefined;
  const ms = parseIsoTime(v) ?? dateOnly(v);
  if (ms === undefined) {
    throw new ApiError(
      'BAD_REQUEST',
      `\`${name}\` must be an ISO 8601 time such as 2026-03-01T08:00:00Z or a date such as 2026-03-01, and one that exists.`,
    );
  }
  return new Date(ms);
}

function dateOnly(v: string): number | undefined {
  const m = DATE_ONLY.exec(v);
  if (!m) return undefined;
  const wall = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: 0,
    minute: 0,
    second: 0,
  };
  return isValidWallTime(wall) ? wallAsUtc(wall) : undefined;
}
