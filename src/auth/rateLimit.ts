/**
 * Requests per token, as a token bucket in memory: each token may send `burst`
 * requests at once, then `perSecond` a second. Each process counts on its own.
 */
export interface RateLimitConfig {
  /** Requests a second a token may keep up (`HERU_API_RATE`, default 20). */
  perSecond: number;
  /** Requests a token may send at once before the rate applies (`HERU_API_BURST`, default 100). */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets are forgotten after this long unused, so memory follows the live tokens. */
const FORGET_MS = 10 * 60_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  constructor(private readonly config: RateLimitConfig) {}

  /**
   * Takes one request from `key`'s bucket: 0 when allowed, else the whole seconds to
   * wait before the next one is (the Retry-After value).
   */
  take(key: string, now = Date.now()): number {
    this.sweep(now);
    const { perSecond, burst } = this.config;
    const b = this.buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perSecond));
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < FORGET_MS) return;
    this.lastSweep = now;
    for (const [k, b] of this.buckets) if (now - b.at > FORGET_MS) this.buckets.delete(k);
  }
}
