/**
 * JSON Canonicalization Scheme (RFC 8785): one byte sequence for one JSON value, so a
 * hash over it means the same thing to anyone who canonicalizes the same value.
 *
 * - object members sorted by their names compared as UTF-16 code units (§3.2.3);
 * - no whitespace; strings escaped the way ECMAScript's JSON.stringify does, which
 *   is what §3.2.2.2 prescribes (the two-letter escapes, other controls as \u00xx);
 * - numbers serialized as ECMAScript's Number.prototype.toString (§3.2.2.3), which
 *   JSON.stringify also uses; NaN and the infinities have no JSON form and are refused;
 * - strings must be valid Unicode: a lone surrogate is refused (I-JSON, §3.1).
 */

/** A JSON value as the canonicalizer accepts it. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [name: string]: JsonValue };

/** Thrown for a value that has no canonical JSON form. */
export class CanonicalizationError extends Error {
  override readonly name = 'CanonicalizationError';
}

const LONE_SURROGATE =
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `s` is not valid Unicode: it holds a UTF-16 surrogate without its pair. */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

/** The canonical JSON text of `value` (RFC 8785). Throws CanonicalizationError. */
export function canonicalize(value: JsonValue): string {
  const parts: string[] = [];
  write(value, parts, '$');
  return parts.join('');
}

/** The canonical JSON of `value` as UTF-8 bytes, what hashes are taken over. */
export function canonicalBytes(value: JsonValue): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}

function write(value: JsonValue, out: string[], path: string): void {
  if (value === null || typeof value === 'boolean') {
    out.push(String(value));
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new CanonicalizationError(
        `${path} is ${value}, which JSON cannot represent; store null instead.`,
      );
    }
    out.push(JSON.stringify(value));
  } else if (typeof value === 'string') {
    out.push(quote(value, path));
  } else if (Array.isArray(value)) {
    writeArray(value as readonly JsonValue[], out, path);
  } else if (typeof value === 'object') {
    writeObject(value as { readonly [name: string]: JsonValue }, out, path);
  } else {
    throw new CanonicalizationError(`${path} is a ${typeof value}, not a JSON value.`);
  }
}

function writeArray(items: readonly JsonValue[], out: string[], path: string): void {
  out.push('[');
  items.forEach((item, i) => {
    if (i > 0) out.push(',');
    write(item, out, `${path}[${i}]`);
  });
  out.push(']');
}

function writeObject(
  obj: { readonly [name: string]: JsonValue },
  out: string[],
  path: string,
): void {
  // The default sort compares UTF-16 code units, exactly the order §3.2.3 asks for.
  const names = Object.keys(obj).sort();
  out.push('{');
  names.forEach((name, i) => {
    const member = obj[name];
    if (member === undefined) {
      throw new CanonicalizationError(`${path}.${name} is undefined, not a JSON value.`);
    }
    if (i > 0) out.push(',');
    out.push(quote(name, `${path} member name`), ':');
    write(member, out, `${path}.${name}`);
  });
  out.push('}');
}

function quote(s: string, path: string): string {
  if (hasLoneSurrogate(s)) {
    throw new CanonicalizationError(`${path} holds a lone UTF-16 surrogate.`);
  }
  return JSON.stringify(s);
}
