/**
 * The webhook signature: HMAC-SHA256 with the channel's secret over
 * `<timestamp>.<body>`, where the timestamp is Unix seconds sent in `Heru-Timestamp`.
 * Signing the timestamp with the body lets a receiver refuse replays: it accepts a
 * request only when the timestamp is within its window (five minutes) of its clock.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Heru-Signature';
export const TIMESTAMP_HEADER = 'Heru-Timestamp';
export const DELIVERY_HEADER = 'Heru-Delivery';
export const EVENT_HEADER = 'Heru-Event';

/** Seconds a receiver should accept between the timestamp and its own clock. */
export const REPLAY_WINDOW_S = 300;

/** `v1=<hex>`: the signature header value for a body sent at `timestamp` (Unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `v1=${mac}`;
}

/**
 * What a receiver does: true when one of the `v1=` signatures matches and the
 * timestamp is within the window. Several `v1=` values (comma-separated) are
 * accepted so that a secret can be rotated without a gap.
 */
export function verifyWebhook(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  nowS = Math.floor(Date.now() / 1000),
): boolean {
  const ts = Number(headers.timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowS - ts) > REPLAY_WINDOW_S) return false;
  const expected = Buffer.from(signWebhook(secret, ts, body));
  return (headers.signature ?? '')
    .split(',')
    .map((s) => Buffer.from(s.trim()))
    .some((got) => got.length === expected.length && timingSafeEqual(got, expected));
}
