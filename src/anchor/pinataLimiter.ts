import { sleep } from './httpCall.js';

/**
 * Spaces calls evenly so that no more than `perMinute` start in any minute, and holds
 * every call back while the server has asked us to wait (429 with Retry-After).
 * Pinata's documented limits are 180 requests a minute for the API and 30 a minute for
 * the `/data/` routes; the defaults stay below both.
 */
export class RateLimiter {
  private readonly spacingMs: number;
  private nextSlot = 0;
  private pausedUntil = 0;

  constructor(perMinute: number) {
    if (!(perMinute > 0))
      throw new Error(`a rate limit must be above 0, got ${perMinute}`);
    this.spacingMs = 60_000 / perMinute;
  }

  /** Resolves when the caller may start its call; slots are taken in call order. */
  async take(): Promise<void> {
    const now = Date.now();
    const slot = Math.max(now, this.nextSlot, this.pausedUntil);
    this.nextSlot = slot + this.spacingMs;
    if (slot > now) await sleep(slot - now);
  }

  /** Holds every later call back until `ms` milliseconds from now. */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
  }
}
