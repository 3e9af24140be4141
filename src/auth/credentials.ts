import { readFileSync } from 'node:fs';
import type { HealthEntry } from '../health.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The variables that hold credentials of hosted services. Each may instead be given
 * as `<NAME>_FILE`, the path of a file holding it (a container secret, a file only
 * the service user reads); the variable itself wins when both are set.
 */
export const SECRET_VARIABLES = [
  'PINATA_JWT',
  'PINATA_API_KEY',
  'PINATA_API_SECRET',
  'PINATA_GATEWAY_TOKEN',
  'HEDERA_PRIVATE_KEY',
  'SMS_AUTH_TOKEN',
  'SMTP_PASSWORD',
  'GUARDIAN_PASSWORD',
  'VAPID_PRIVATE_KEY',
  'MQTT_PASSWORD',
] as const;

/** `env` with each `<NAME>_FILE` of SECRET_VARIABLES read into `<NAME>` (trimmed). */
export function withSecretFiles(env: Env): Env {
  const out: Record<string, string | undefined> = { ...env };
  for (const name of SECRET_VARIABLES) {
    const file = env[`${name}_FILE`]?.trim();
    if (!file || env[name]?.trim()) continue;
    try {
      out[name] = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new Error(
        `${name}_FILE names ${file}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); fix the path or its permissions.`,
      );
    }
  }
  return out;
}

const SERVICES: Record<string, (env: Env) => boolean> = {
  pinata: (e) =>
    set(e, 'PINATA_JWT') || (set(e, 'PINATA_API_KEY') && set(e, 'PINATA_API_SECRET')),
  hedera: (e) => set(e, 'HEDERA_ACCOUNT_ID') && set(e, 'HEDERA_PRIVATE_KEY'),
  sms: (e) => set(e, 'SMS_API_URL') && set(e, 'SMS_AUTH_TOKEN'),
  smtp: (e) => set(e, 'SMTP_URL'),
  guardian: (e) => set(e, 'GUARDIAN_PASSWORD'),
  web_push: (e) => set(e, 'VAPID_PRIVATE_KEY'),
};

/**
 * The `/health` entry `credentials`: for each hosted service, whether its credentials
 * are set (true or false), never their values. Informational: it never fails.
 */
export function credentialsHealth(env: Env): HealthEntry {
  const configured = Object.fromEntries(
    Object.entries(SERVICES).map(([service, has]) => [service, has(env)]),
  );
  return { status: 'ok', configured };
}

function set(env: Env, name: string): boolean {
  return (env[name]?.trim() ?? '') !== '';
}
