import { int, type Env } from '../config/env.js';
import type { RateLimitConfig } from './rateLimit.js';

/** Settings of API access: the per-token rate limit. */
export interface AuthConfig {
  rateLimit: RateLimitConfig;
}

export const DEFAULT_AUTH_CONFIG: AuthConfig = {
  rateLimit: { perSecond: 20, burst: 100 },
};

/** `HERU_API_RATE` (requests a second per token, default 20), `HERU_API_BURST` (default 100). */
export function readAuthConfig(env: Env): AuthConfig {
  return {
    rateLimit: {
      perSecond: int(env, 'HERU_API_RATE', 20, { min: 1, max: 100_000 }),
      burst: int(env, 'HERU_API_BURST', 100, { min: 1, max: 1_000_000 }),
    },
  };
}
