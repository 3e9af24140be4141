import { Quarantine } from '../reasons.js';
import { parseIsoTime } from './isoTime.js';

/** A JSON object from a payload. */
export type JsonObject = Record<string, unknown>;

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Parses the payload as JSON (RFC 8259: UTF-8, a leading byte-order mark ignored), or
 * says why it is not.
 */
export function parseJson(payload: Buffer): unknown {
  let text: string;
  try {
    text = UTF8.decode(payload);
  } catch {
    throw new Quarantine('INVALID_JSON', 'the payload is not UTF-8 text');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Quarantine(
      'INVALID_JSON',
      `${(err as Error).message} (payload starts ${JSON.stringify(text.slice(0, 64))})`,
    );
  }
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What firmwares print for values that are not numbers (C's printf, Arduino, Python). */
const NON_FINITE = new Map<string, number>([
  ['nan', NaN],
  ['+nan', NaN],
  ['-nan', NaN],
  ['inf', Infinity],
  ['+inf', Infinity],
  ['infinity', Infinity],
  ['+infinity', Infinity],
  ['-inf', -Infinity],
  ['-infinity', -Infinity],
]);

/** A plain decimal number, as JSON writes it; no hex, binary or empty strings. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A number written as plain text (ESPHome's state topics, a plain-value mapping): a
 * decimal number, or what firmwares print for NaN and infinities, in any case and
 * with surrounding white space. Undefined for anything else.
 */
export function plainNumber(text: string): number | undefined {
  const t = text.trim();
  const special = NON_FINITE.get(t.toLowerCase());
  if (special !== undefined) return special;
  return DECIMAL.test(t) ? Number(t) : undefined;
}

/**
 * A measured value: a number, null (the device says the read failed), a decimal number
 * in a string, or the strings firmwares print for NaN and infinities (any case).
 * Anything else is a shape error. Undefined when the key is absent.
 */
export function measurement(
  obj: JsonObject,
  key: string,
  at: string,
): number | null | undefined {
  const v = obj[key];
  if (v === undefined || v === null || typeof v === 'number') return v;
  if (typeof v === 'string') {
    const text = v.trim();
    const special = NON_FINITE.get(text.toLowerCase());
    if (special !== undefined) return special;
    if (DECIMAL.test(text)) return Number(text);
  }
  throw new Quarantine(
    'INVALID_PAYLOAD',
    `${at}${key} must be a number, got ${describe(v)}`,
  );
}

/**
 * An optional number (battery, signal); null and absence both give undefined. JSON
 * numbers too large for a double (1e999) come as Infinity and are left to the checks.
 */
export function optionalNumber(
  obj: JsonObject,
  key: string,
  at: string,
): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v;
  throw new Quarantine(
    'INVALID_PAYLOAD',
    `${at}${key} must be a number, got ${describe(v)}`,
  );
}

/** An optional non-negative integer (boot counter, sequence number). */
export function optionalCounter(
  obj: JsonObject,
  key: string,
  at: string,
): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  throw new Quarantine(
    'INVALID_PAYLOAD',
    `${at}${key} must be a whole number ≥ 0, got ${describe(v)}`,
  );
}

export function optionalString(
  obj: JsonObject,
  key: string,
  at: string,
): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  throw new Quarantine(
    'INVALID_PAYLOAD',
    `${at}${key} must be a string, got ${describe(v)}`,
  );
}

/** Numbers above this are milliseconds since 1970 (10^11 s is the year 5138). */
const MS_ABOVE = 1e11;

/**
 * A device time: an ISO 8601 date-time (UTC unless it carries an offset; see
 * isoTime.ts), or a number of seconds since 1970 (milliseconds when above 10^11).
 * Returns milliseconds since 1970; whether the clock is trusted is decided later.
 */
export function deviceTime(obj: JsonObject, key: string, at: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return v > MS_ABOVE ? v : v * 1000;
  if (typeof v === 'string') {
    const ms = parseIsoTime(v);
    if (ms !== undefined) return ms;
  }
  throw new Quarantine(
    'INVALID_PAYLOAD',
    `${at}${key} must be an ISO 8601 date-time or epoch seconds, got ${describe(v)}`,
  );
}

/** A short, safe rendering of a JSON value for a detail sentence. */
export function describe(v: unknown): string {
  // Arrays and objects are named, not printed: a deeply nested one would overflow
  // the stack of JSON.stringify.
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object' && v !== null) return 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
