import { join } from 'node:path';
import { ConfigError } from '../config/ConfigError.js';
import { type Env, int, str, url } from '../config/env.js';

export type PinataAuth = { jwt: string } | { apiKey: string; apiSecret: string };

export interface PinataConfig {
  /** `PINATA_API_URL`, default `https://api.pinata.cloud`. */
  apiUrl: URL;
  auth: PinataAuth;
  /**
   * `PINATA_GATEWAY_URL`: the gateway `fetch` reads a CID through when no local copy
   * is left, e.g. `https://example.mypinata.cloud`. Unset: local copies only.
   */
  gatewayUrl?: URL;
  /** `PINATA_GATEWAY_TOKEN`, sent as `x-pinata-gateway-token` to a dedicated gateway. */
  gatewayToken?: string;
  /** Folder that keeps a copy of every file pinned, by CID (`$HERU_DATA_DIR/pinata`). */
  copiesDir: string;
  /** `PINATA_TIMEOUT_MS`: milliseconds one call may take, default 30000. */
  timeoutMs: number;
  /** `PINATA_RATE_PER_MINUTE`: pinning calls a minute, default 120 (the plan allows 180). */
  perMinute: number;
  /** `PINATA_DATA_RATE_PER_MINUTE`: `/data/` calls a minute, default 20 (allowed: 30). */
  dataPerMinute: number;
  /** `PINATA_MAX_ATTEMPTS`: tries of one pin before giving up to the caller, default 4. */
  maxAttempts: number;
  /** Longest Retry-After (milliseconds) waited out inside one pin, default 120000. */
  maxRetryAfterMs: number;
}

/** Pinata's settings, or undefined when no Pinata credentials are set. */
export function readPinataConfig(env: Env): PinataConfig | undefined {
  const auth = readAuth(env);
  if (!auth) return undefined;
  const config: PinataConfig = {
    apiUrl: url(env, 'PINATA_API_URL', ['https:', 'http:']) ?? defaultApiUrl(),
    auth,
    copiesDir: join(str(env, 'HERU_DATA_DIR') ?? '.heru', 'pinata'),
    timeoutMs: int(env, 'PINATA_TIMEOUT_MS', 30_000, { min: 100, max: 600_000 }),
    perMinute: int(env, 'PINATA_RATE_PER_MINUTE', 120, { min: 1, max: 10_000 }),
    dataPerMinute: int(env, 'PINATA_DATA_RATE_PER_MINUTE', 20, { min: 1, max: 10_000 }),
    maxAttempts: int(env, 'PINATA_MAX_ATTEMPTS', 4, { min: 1, max: 20 }),
    maxRetryAfterMs: int(env, 'PINATA_MAX_RETRY_AFTER_MS', 120_000, {
      min: 0,
      max: 3_600_000,
    }),
  };
  const gatewayUrl = url(env, 'PINATA_GATEWAY_URL', ['https:', 'http:']);
  if (gatewayUrl) config.gatewayUrl = gatewayUrl;
  const gatewayToken = str(env, 'PINATA_GATEWAY_TOKEN');
  if (gatewayToken) config.gatewayToken = gatewayToken;
  return config;
}

function readAuth(env: Env): PinataAuth | undefined {
  const jwt = str(env, 'PINATA_JWT');
  if (jwt) return { jwt };
  const apiKey = str(env, 'PINATA_API_KEY');
  const apiSecret = str(env, 'PINATA_API_SECRET');
  if (apiKey && apiSecret) return { apiKey, apiSecret };
  if (apiKey || apiSecret) {
    throw new ConfigError(
      apiKey ? 'PINATA_API_SECRET' : 'PINATA_API_KEY',
      'set together with the other of PINATA_API_KEY and PINATA_API_SECRET (or use PINATA_JWT)',
    );
  }
  return undefined;
}

function defaultApiUrl(): URL {
  return new URL('https://api.pinata.cloud');
}
