import type { ReadingQuery } from '../../db/readings.js';
import { ApiError } from '../errors.js';
import { queryTime } from '../queryTime.js';

const DAY_MS = 24 * 3600 * 1000;
export const DEFAULT_LIMIT = 1000;
export const MAX_LIMIT = 10_000;

/**
 * `from` and `to` are ISO 8601 times (default: the last 24 hours), `limit` at most
 * 10,000 (default 1,000), `cursor` the `next` value of the previous page.
 */
export function parseReadingsQuery(
  deviceId: string,
  query: Record<string, string | undefined>,
  now: Date,
): ReadingQuery {
  const to = queryTime(query.to, 'to') ?? now;
  const from = queryTime(query.from, 'from') ?? new Date(to.getTime() - DAY_MS);
  if (from >= to) throw new ApiError('BAD_REQUEST', '`from` must be before `to`.');
  const limit = query.limit === undefined ? DEFAULT_LIMIT : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new ApiError(
      'BAD_REQUEST',
      `\`limit\` must be a whole number from 1 to ${MAX_LIMIT}.`,
    );
  }
  const q: ReadingQuery = { deviceId, from, to, limit };
  if (query.cursor !== undefined) q.after = decodeCursor(query.cursor);
  return q;
}

export function encodeCursor(time: Date, id: string): string {
  return Buffer.from(`${time.toISOString()}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): { time: Date; id: string } {
  const [t, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const ms = Date.parse(t ?? '');
  if (Number.isNaN(ms) || !/^\d{1,18}$/.test(id ?? '')) {
    throw new ApiError('BAD_REQUEST', '`cursor` is not one this server gave out.');
  }
  return { time: new Date(ms), id: id! };
}
