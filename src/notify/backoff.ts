import type { NotifyConfig } from './config.js';
import type { SendResult } from './channels/channel.js';
import type { ClaimedDelivery, Verdict } from './deliveries.js';

/**
 * Milliseconds before attempt `attempt + 1`: `baseMs` doubled per attempt made, cut
 * at `maxMs`, less up to a quarter at random so that many deliveries failing
 * together do not all come back at the same moment. A server's Retry-After wins
 * when it asks for longer (still cut at `maxMs`).
 */
export function backoffMs(
  attempt: number,
  retry: NotifyConfig['retry'],
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const exponential = retry.baseMs * 2 ** Math.min(attempt - 1, 30);
  const jittered = Math.min(retry.maxMs, exponential) * (1 - random() / 4);
  return Math.min(retry.maxMs, Math.max(jittered, retryAfterMs ?? 0));
}

/** What follows an attempt: done, given up, or tried again after a backoff. */
export function verdictOf(
  d: ClaimedDelivery,
  result: SendResult,
  retry: NotifyConfig['retry'],
  now: Date,
): Verdict {
  if (result.outcome === 'sent') return { status: 'sent' };
  const error = result.error ?? 'failed without a reason';
  if (result.outcome === 'failed') return { status: 'failed', error };
  if (d.attempt >= retry.maxAttempts) {
    return {
      status: 'failed',
      error: `gave up after ${d.attempt} attempts; last: ${error}`,
    };
  }
  const next = new Date(now.getTime() + backoffMs(d.attempt, retry, result.retryAfterMs));
  if (next.getTime() - d.createdAt.getTime() > retry.maxAgeSeconds * 1000) {
    return {
      status: 'failed',
      error: `gave up: not sent within ${retry.maxAgeSeconds} s; last: ${error}`,
    };
  }
  return { status: 'pending', nextAttemptAt: next, error };
}
