/**
 * Checks the JSON of a profile field by field and gathers every problem, so that one
 * answer tells the operator all that is wrong with a profile, not the first thing.
 */
import type { AlarmSeverity } from './events.js';

/** A profile that cannot be used; `problems` name each bad field. */
export class ProfileError extends Error {
  constructor(readonly problems: string[]) {
    super(`The profile is not valid: ${problems.join('; ')}.`);
  }
}

type Obj = Record<string, unknown>;

const SEVERITIES: readonly AlarmSeverity[] = ['critical', 'warning', 'info'];

export class Checker {
  private readonly problems: string[] = [];

  fail(path: string, what: string): void {
    this.problems.push(`${path} ${what}`);
  }

  /** Throws when any check failed. */
  done(): void {
    if (this.problems.length > 0) throw new ProfileError(this.problems);
  }

  object(v: unknown, path: string): Obj {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Obj;
    this.fail(path, 'must be an object');
    return {};
  }

  number(v: unknown, path: string, range: { min?: number; max?: number } = {}): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.fail(path, 'must be a number');
      return 0;
    }
    if (range.min !== undefined && v < range.min)
      this.fail(path, `must be ≥ ${range.min}`);
    if (range.max !== undefined && v > range.max)
      this.fail(path, `must be ≤ ${range.max}`);
    return v;
  }

  integer(v: unknown, path: string, range: { min: number; max: number }): number {
    const n = this.number(v, path, range);
    if (!Number.isInteger(n)) this.fail(path, 'must be a whole number');
    return n;
  }

  boolean(v: unknown, path: string, fallback: boolean): boolean {
    if (v === undefined) return fallback;
    if (typeof v === 'boolean') return v;
    this.fail(path, 'must be true or false');
    return fallback;
  }

  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
    if ((allowed as readonly unknown[]).includes(v)) return v as T;
    this.fail(path, `must be one of ${allowed.join(', ')}`);
    return allowed[0]!;
  }

  direction(v: unknown, path: string): 'high' | 'low' {
    return this.oneOf(v, path, ['high', 'low'] as const);
  }

  severity(v: unknown, path: string): AlarmSeverity {
    return v === undefined ? 'critical' : this.oneOf(v, path, SEVERITIES);
  }

  ruleId(v: unknown, path: string): string {
    if (typeof v === 'string' && /^[a-z][a-z0-9_]{0,31}$/.test(v)) return v;
    this.fail(path, 'must be 1–32 of a-z, 0-9 and _, starting with a letter');
    return '';
  }

  timeZone(v: unknown, path: string): string {
    if (v === undefined) return 'UTC';
    if (typeof v === 'string') {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: v });
        return v;
      } catch {
        // reported below
      }
    }
    this.fail(path, 'must be an IANA time zone such as Europe/Zurich');
    return 'UTC';
  }

  list<T>(v: unknown, path: string, each: (item: unknown, path: string) => T): T[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.fail(path, 'must be a list');
      return [];
    }
    return v.map((item, i) => each(item, `${path}[${i}]`));
  }

  /** Undefined or null: the rule is off. */
  optional<T>(v: unknown, parse: (v: unknown) => T): T | null {
    return v === undefined || v === null ? null : parse(v);
  }

  nullable<T>(v: unknown, parse: (v: unknown) => T): T | null {
    return v === undefined || v === null ? null : parse(v);
  }

  unique(ids: string[], what: string): void {
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) this.problems.push(`${what} (${id} twice)`);
      seen.add(id);
    }
  }
}
