import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { withSecretFiles } from '../auth/credentials.js';
import { ConfigError } from './ConfigError.js';

/** The environment as read once at start: the process environment over `.env`. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads `.env` (when present in `dir`) under the process environment: a variable
 * already set in the environment wins over the file. Credentials may come from files
 * (`<NAME>_FILE`, see src/auth/credentials.ts).
 */
export function loadEnv(dir = process.cwd(), base: NodeJS.ProcessEnv = process.env): Env {
  const file = `${dir}/.env`;
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const [k, v] of Object.entries(base)) if (v !== undefined) merged[k] = v;
  return withSecretFiles(merged);
}

/** Trimmed value, or undefined when unset or blank. */
export function str(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

export function int(
  env: Env,
  name: string,
  fallback: number,
  range: { min: number; max: number },
): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    throw new ConfigError(name, `an integer from ${range.min} to ${range.max}`, raw);
  }
  return n;
}

export function oneOf<T extends string>(
  env: Env,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `one of ${allowed.join(', ')}`, raw);
  }
  return raw as T;
}

export function url(
  env: Env,
  name: string,
  protocols: readonly string[],
): URL | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(
      name,
      `a URL starting with ${protocols.join(' or ')}`,
      redactUrl(raw),
    );
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(
      name,
      `a URL starting with ${protocols.join(' or ')}`,
      redactUrl(raw),
    );
  }
  return parsed;
}

/** The URL with any password replaced, for messages and logs. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return raw.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
  }
}
