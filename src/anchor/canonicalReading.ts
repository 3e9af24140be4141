/**
 * The canonical form of a reading: its stored fields as read back from PostgreSQL,
 * as one RFC 8785 JSON object. Rebuilding it from the database later gives the same
 * bytes, so its leaf hash shows whether the reading is still what was anchored.
 *
 * Field by field:
 * - every column of `reading`, always present, null when empty;
 * - 64-bit integers (`id`, `boot`, `seq`, `raw_message_id`) as decimal strings, since
 *   JSON numbers are exact only up to 2^53;
 * - times in UTC with exactly six fractional digits (PostgreSQL keeps microseconds):
 *   `2026-01-02T03:04:05.678000Z`;
 * - floating-point values as PostgreSQL returns them (the shortest text that reads
 *   back as the same double), serialized the ECMAScript way by RFC 8785;
 * - `flags` in stored order.
 */
import type { Pool, PoolClient } from '../db/pool.js';
import { CanonicalizationError, hasLoneSurrogate, type JsonValue } from './canonical.js';
import { leafHash } from './merkle.js';

/** A reading as the canonical form takes it; times are already formatted text. */
export interface CanonicalReadingRow {
  id: string;
  device_id: string;
  sensor: string;
  time: string;
  time_source: string;
  device_time: string | null;
  received_at: string;
  boot: string | null;
  seq: string | null;
  temperature_c: number | null;
  humidity_pct: number | null;
  battery_pct: number | null;
  battery_v: number | null;
  rssi_dbm: number | null;
  quality: string;
  flags: string[];
  raw_message_id: string;
}

/** The columns of the canonical form, in the order they are selected. */
export const CANONICAL_FIELDS = [
  'id',
  'device_id',
  'sensor',
  'time',
  'time_source',
  'device_time',
  'received_at',
  'boot',
  'seq',
  'temperature_c',
  'humidity_pct',
  'battery_pct',
  'battery_v',
  'rssi_dbm',
  'quality',
  'flags',
  'raw_message_id',
] as const satisfies ReadonlyArray<keyof CanonicalReadingRow>;

const TIME_FORMAT = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;
const utc = (column: string, alias = column): string =>
  `to_char(${column} at time zone 'UTC', ${TIME_FORMAT}) as ${alias}`;

/** SQL select list giving a CanonicalReadingRow from `reading` aliased as `alias`. */
export function canonicalColumns(alias = 'r'): string {
  const c = (name: string): string => `${alias}.${name}`;
  return [
    `${c('id')}::text as id`,
    c('device_id'),
    c('sensor'),
    utc(c('time'), 'time'),
    c('time_source'),
    utc(c('device_time'), 'device_time'),
    utc(c('received_at'), 'received_at'),
    `${c('boot')}::text as boot`,
    `${c('seq')}::text as seq`,
    c('temperature_c'),
    c('humidity_pct'),
    c('battery_pct'),
    c('battery_v'),
    c('rssi_dbm'),
    c('quality'),
    c('flags'),
    `${c('raw_message_id')}::text as raw_message_id`,
  ].join(', ');
}

/** The reading as the JSON object that is canonicalized. */
export function canonicalReading(row: CanonicalReadingRow): JsonValue {
  const out: Record<string, JsonValue> = {};
  for (const field of CANONICAL_FIELDS) out[field] = row[field];
  return out;
}

// The fields in RFC 8785 order (UTF-16 code units; all ASCII here), each with the
// text that precedes its value. The generic canonicalizer gives the same text (a
// test holds the two together); this one skips sorting and recursion per reading.
const SORTED = [...CANONICAL_FIELDS].sort();
const PREFIXES = SORTED.map(
  (name, i) => `${i === 0 ? '{' : ','}${JSON.stringify(name)}:`,
);

function text(v: string, field: string): string {
  if (hasLoneSurrogate(v)) {
    throw new CanonicalizationError(
      `reading field ${field} holds a lone UTF-16 surrogate`,
    );
  }
  return JSON.stringify(v);
}

function value(v: string | number | string[] | null, field: string): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return text(v, field);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) {
      throw new CanonicalizationError(
        `reading field ${field} is ${v}, which JSON cannot represent`,
      );
    }
    return JSON.stringify(v);
  }
  return `[${v.map((s) => text(s, field)).join(',')}]`;
}

/** The RFC 8785 text of the reading. */
export function readingText(row: CanonicalReadingRow): string {
  let out = '';
  for (let i = 0; i < SORTED.length; i += 1) {
    const field = SORTED[i]!;
    out += PREFIXES[i]! + value(row[field], field);
  }
  return `${out}}`;
}

/** The RFC 8785 bytes of the reading. */
export function readingBytes(row: CanonicalReadingRow): Buffer {
  return Buffer.from(readingText(row), 'utf8');
}

/** The reading's leaf hash: SHA-256(0x00 || canonical bytes). */
export function readingLeaf(row: CanonicalReadingRow): Buffer {
  return leafHash(readingBytes(row));
}

/** The canonical row of one reading as stored now, or undefined when there is none. */
export async function loadCanonicalReading(
  db: Pool | PoolClient,
  id: string,
): Promise<CanonicalReadingRow | undefined> {
  const { rows } = await db.query<CanonicalReadingRow>(
    `select ${canonicalColumns('r')} from reading r where r.id = $1`,
    [id],
  );
  return rows[0];
}
