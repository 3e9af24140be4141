/**
 * PostgreSQL array literals (`{a,b,NULL}`) for the columns of a bulk insert, written
 * directly: the ingest sends tens of thousands of values a commit, and building the
 * literal here costs a fraction of the generic conversion in the driver.
 * See "Array Value Input" in the PostgreSQL manual for the syntax.
 *
 * Each `…Column(rows, get)` takes the value of every row through `get`, without an
 * intermediate array; each `…Array(values)` is the same for values in hand.
 */

const NEEDS_ESCAPE = /["\\]/;

function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? `"${s.replace(/["\\]/g, '\\$&')}"` : `"${s}"`;
}

/** `text[]`; every element quoted, so that a value "NULL" stays text. */
export function textColumn<T>(
  rows: readonly T[],
  get: (row: T) => string | null,
): string {
  let out = '{';
  for (let i = 0; i < rows.length; i += 1) {
    const v = get(rows[i]!);
    if (i > 0) out += ',';
    out += v === null || v === undefined ? 'NULL' : quote(v);
  }
  return `${out}}`;
}

/** `float8[]`, `integer[]`, `bigint[]` or `smallint[]`; NaN and ±Infinity as float8 spells them. */
export function numberColumn<T>(
  rows: readonly T[],
  get: (row: T) => number | null,
): string {
  let out = '{';
  for (let i = 0; i < rows.length; i += 1) {
    const v = get(rows[i]!);
    if (i > 0) out += ',';
    out += v === null || v === undefined ? 'NULL' : String(v);
  }
  return `${out}}`;
}

/** `timestamptz[]`, as ISO 8601 UTC with milliseconds. */
export function timeColumn<T>(rows: readonly T[], get: (row: T) => Date | null): string {
  let out = '{';
  let last: Date | null = null;
  let lastText = '';
  for (let i = 0; i < rows.length; i += 1) {
    const v = get(rows[i]!);
    if (i > 0) out += ',';
    if (v === null || v === undefined) {
      out += 'NULL';
      continue;
    }
    // Messages of one socket read share their receive time, often the same object.
    if (v !== last) {
      last = v;
      lastText = isoTime(v);
    }
    out += lastText;
  }
  return `${out}}`;
}

export function boolColumn<T>(rows: readonly T[], get: (row: T) => boolean): string {
  let out = '{';
  for (let i = 0; i < rows.length; i += 1)
    out += `${i > 0 ? ',' : ''}${get(rows[i]!) ? 't' : 'f'}`;
  return `${out}}`;
}

/** `bytea[]` in hex form: each element `"\\x…"` (the backslash escaped for the array). */
export function byteaColumn<T>(rows: readonly T[], get: (row: T) => Buffer): string {
  let out = '{';
  for (let i = 0; i < rows.length; i += 1) {
    if (i > 0) out += ',';
    out += `"\\\\x${get(rows[i]!).toString('hex')}"`;
  }
  return `${out}}`;
}

const same = <V>(v: V): V => v;
export const textArray = (values: readonly (string | null)[]): string =>
  textColumn(values, same);
export const numberArray = (values: readonly (number | null)[]): string =>
  numberColumn(values, same);
export const timeArray = (values: readonly (Date | null)[]): string =>
  timeColumn(values, same);
export const boolArray = (values: readonly boolean[]): string => boolColumn(values, same);
export const byteaArray = (values: readonly Buffer[]): string =>
  byteaColumn(values, same);

const MILLIS = Array.from(
  { length: 1000 },
  (_, ms) => `.${String(ms).padStart(3, '0')}Z`,
);
const seconds = new Map<number, string>();

/**
 * `Date#toISOString`, faster for times that share their second: the text up to the
 * second is kept for the seconds seen last (a commit's times cluster in a few).
 */
export function isoTime(d: Date): string {
  const ms = d.getTime();
  const s = Math.floor(ms / 1000);
  let head = seconds.get(s);
  if (head === undefined) {
    const iso = d.toISOString();
    // Years outside 0000–9999 are written with a sign and six digits; not cached.
    if (iso.length !== 24) return iso;
    if (seconds.size >= 256) seconds.clear();
    head = iso.slice(0, 19);
    seconds.set(s, head);
  }
  return head + MILLIS[ms - s * 1000]!;
}
