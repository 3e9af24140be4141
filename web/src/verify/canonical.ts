/**
 * RFC 8785 (JSON Canonicalization Scheme), written for the browser so that the
 * dashboard checks a proof with its own code rather than the server's:
 * members sorted by UTF-16 code units, no whitespace, strings and numbers written
 * as ECMAScript writes them (which is what the RFC prescribes).
 */

export type Json = null | boolean | number | string | Json[] | { [name: string]: Json };

const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The canonical text of `value`; throws for what JSON cannot hold. */
export function canonicalJson(value: Json): string {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${value} has no JSON form`);
    return JSON.stringify(value);
  }
  if (typeof value === 'string') {
    if (LONE.test(value)) throw new Error('a string holds a lone UTF-16 surrogate');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  // Array.prototype.sort without a comparator compares UTF-16 code units (§3.2.3).
  const names = Object.keys(value).sort();
  const members = names.map((n) => `${canonicalJson(n)}:${canonicalJson(value[n]!)}`);
  return `{${members.join(',')}}`;
}
