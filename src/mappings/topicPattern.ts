import { MappingError } from './mappingError.js';

/** What a topic told of its message: the device id and probe name it carries. */
export interface TopicCaptures {
  device?: string;
  sensor?: string;
}

/** A mapping's topic pattern, compiled. */
export interface TopicPattern {
  /** The pattern as written, e.g. `acme/{device}/up`. */
  readonly pattern: string;
  /** The MQTT filter to subscribe to, e.g. `acme/+/up`. */
  readonly filter: string;
  readonly captures: ReadonlySet<'device' | 'sensor'>;
  /** The captures of `topic`, or undefined when the topic does not match. */
  match(topic: string): TopicCaptures | undefined;
}

const CAPTURE = /^\{(device|sensor)\}$/;
const MAX_PATTERN_LENGTH = 256;

/**
 * Compiles an MQTT topic filter in which a level may be `{device}` or `{sensor}`: a
 * single-level wildcard (`+`) whose value becomes the device id or the probe name.
 * `+` and `#` keep their MQTT meaning (`#` last only). The first level must be a
 * literal name, not starting with `$` (broker topics).
 */
export function compileTopicPattern(pattern: string): TopicPattern {
  const levels = checkLevels(pattern);
  const captures = new Set<'device' | 'sensor'>();
  const filterLevels = levels.map((level) => {
    const c = CAPTURE.exec(level)?.[1] as 'device' | 'sensor' | undefined;
    if (c === undefined) return level;
    if (captures.has(c)) throw new MappingError(`topic: {${c}} appears twice`);
    captures.add(c);
    return '+';
  });
  const filter = filterLevels.join('/');
  return {
    pattern,
    filter,
    captures,
    match(topic) {
      const parts = topic.split('/');
      const out: TopicCaptures = {};
      for (let i = 0; i < levels.length; i += 1) {
        const want = levels[i]!;
        if (want === '#') return out;
        const got = parts[i];
        if (got === undefined) return undefined;
        const c = CAPTURE.exec(want)?.[1] as 'device' | 'sensor' | undefined;
        if (c !== undefined) out[c] = got;
        else if (want !== '+' && want !== got) return undefined;
      }
      return parts.length === levels.length ? out : undefined;
    },
  };
}

function checkLevels(pattern: string): string[] {
  if (pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH)
    throw new MappingError(`topic must be 1–${MAX_PATTERN_LENGTH} characters`);
  if (/[\p{Cc}\p{Cs}]/u.test(pattern))
    throw new MappingError('topic must not hold control characters');
  const levels = pattern.split('/');
  const first = levels[0]!;
  if (first === '' || first.startsWith('$') || /[+#{}]/.test(first)) {
    throw new MappingError(
      `topic must start with a literal level (such as "acme/"), got ${JSON.stringify(pattern)}`,
    );
  }
  levels.forEach((level, i) => {
    if (level === '#' && i !== levels.length - 1)
      throw new MappingError('topic: # may only be the last level');
    const wildcard = level === '+' || level === '#' || CAPTURE.test(level);
    if (!wildcard && /[+#{}]/.test(level)) {
      throw new MappingError(
        `topic level ${JSON.stringify(level)}: +, # and {device} / {sensor} must be a whole level`,
      );
    }
  });
  return levels;
}

/**
 * True when some topic matches both MQTT filters (`a/+/c` and `a/b/#` do;
 * `a/+` and `a/b/c` do not). `#` also matches its parent level (`a/#` matches `a`).
 */
export function filtersOverlap(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; ; i += 1) {
    const p = x[i];
    const q = y[i];
    if (p === '#' || q === '#') return true;
    if (p === undefined || q === undefined) return p === q;
    if (p !== '+' && q !== '+' && p !== q) return false;
  }
}
