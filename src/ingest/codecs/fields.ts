import { Quarantine } from '../reasons.js';

/** A JSON object from a payload. */
export type JsonObject = Record<string, unknown>;

/** Parses the payload as JSON, or says why it is not. */
export function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch (err) {
    const text = payload.subarray(0, 64).toString('utf8');
    throw new Quarantine(
      'INVALID_JSON',
      `${(err as Error).message} (payload starts ${JSON.stringify(text)})`,
    );
  }
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const NON_FINITE: Record<string, number> = {
  nan: NaN,
  '-nan': NaN,
  inf: Infinity,
  '+inf': Infinity,
  infinity: Infinity,
  '-inf': -Infinity,
  '-infinity': -Infinity,
};

/**
 * A measured value: a number, null (the device says the read failed), or the
 * strings firmwares print for NaN and infinities. Anything else is a shape error.
 * Undefined when the key is absent.
 */
export function measurement(
  obj: JsonObject,
  key: string,
  at: string,
): number | null | undefined {
  const v = obj[key];
  if (v === undefined || v === null || typeof v === 'number') return v;
  if (typeof v === 'string') {
    const special = NON_FINITE[v.trim().toLowerCase()];
    if (special !== undefined) return special;
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n)) return n;
  }
  throw new Quarantine(
    'INVALID_PAYLOAD',
    `${at}${key} must be a number, got ${describe(v)}`,
  );
}

/** An optional finite number (battery, signal); null and absence both give undefined. */
export function optionalNumber(
  obj: JsonObject,
  key: string,
  at: string,
): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
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

/**
 * A device time: an ISO 8601 string (UTC unless it carries an offset), or a number of
 * seconds since 1970 (milliseconds when above 10^11). Returns milliseconds since 1970.
 */
export function deviceTime(obj: JsonObject, key: string, at: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return v > 1e11 ? v : v * 1000;
  if (typeof v === 'string') {
    const hasZone = /(Z|[+-]\d\d:?\d\d)$/i.test(v.trim());
    const ms = Date.parse(hasZone ? v : `${v}Z`);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new Quarantine(
    'INVALID_PAYLOAD',
    `${at}${key} must be an ISO 8601 time or epoch seconds, got ${describe(v)}`,
  );
}

function describe(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
