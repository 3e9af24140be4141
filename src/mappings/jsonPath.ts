import { MappingError } from './mappingError.js';

/**
 * Where a value sits in a JSON payload: a small part of JSONPath (RFC 9535), enough
 * to name one value. `$` is the payload, `@` the current element of a mapping's
 * `readings` array (the payload itself when there is none); then names and indexes:
 * `$.sensors.t1`, `@.t`, `$.data[0].value`, `$['temp °C']`, `$["a.b"]`.
 */
export interface JsonPath {
  readonly text: string;
  readonly root: '$' | '@';
  readonly steps: ReadonlyArray<string | number>;
}

const NAME = /^\.([A-Za-z_][A-Za-z0-9_-]*)/;
const INDEX = /^\[(\d{1,6})\]/;
const QUOTED = /^\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]/;
const MAX_PATH_LENGTH = 200;

/** Compiles a path; throws a MappingError naming `field` when it is not one. */
export function compilePath(text: string, field: string): JsonPath {
  const root = text[0];
  if (text.length > MAX_PATH_LENGTH || (root !== '$' && root !== '@')) {
    throw new MappingError(
      `${field} must be a JSON path starting with $ (the payload) or @ (the current reading), such as "$.temperature"; got ${JSON.stringify(text)}`,
    );
  }
  const steps: Array<string | number> = [];
  let rest = text.slice(1);
  while (rest.length > 0) {
    const name = NAME.exec(rest);
    const index = name ? null : INDEX.exec(rest);
    const quoted = name || index ? null : QUOTED.exec(rest);
    const m = name ?? index ?? quoted;
    if (!m) {
      throw new MappingError(
        `${field}: cannot read ${JSON.stringify(rest)} in the path ${JSON.stringify(text)}; use .name, [0] or ['any name']`,
      );
    }
    if (name) steps.push(m[1]!);
    else if (index) steps.push(Number(m[1]));
    else steps.push((m[1] ?? m[2]!).replace(/\\(.)/g, '$1'));
    rest = rest.slice(m[0].length);
  }
  return { text, root, steps };
}

/**
 * The value at `path`, from `payload` for `$` paths and from `current` for `@` ones;
 * undefined when some step is absent (a missing key, an index past the end, a step
 * into a number). A JSON null is returned as null.
 */
export function valueAt(path: JsonPath, payload: unknown, current: unknown): unknown {
  let v: unknown = path.root === '$' ? payload : current;
  for (const step of path.steps) {
    if (typeof step === 'number') {
      if (!Array.isArray(v) || step >= v.length) return undefined;
      v = v[step];
    } else {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
      if (!Object.prototype.hasOwnProperty.call(v, step)) return undefined;
      v = (v as Record<string, unknown>)[step];
    }
  }
  return v;
}
