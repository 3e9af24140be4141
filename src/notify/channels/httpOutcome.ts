import type { SendResult } from './channel.js';

/** Longest response body kept in an error text, in characters. */
const ERROR_BODY_CHARS = 300;

/**
 * The outcome of an HTTP answer from a provider: 2xx sent; 408, 425, 429 and 5xx
 * worth retrying (honouring Retry-After); any other 4xx a failure retrying can't fix.
 */
export async function httpOutcome(res: Response, what: string): Promise<SendResult> {
  const code = res.status;
  if (code >= 200 && code < 300) return { outcome: 'sent', responseCode: code };
  const body = (await res.text().catch(() => '')).slice(0, ERROR_BODY_CHARS);
  const error = `${what} answered ${code}${body ? `: ${body}` : ''}`;
  const retryable = code === 408 || code === 425 || code === 429 || code >= 500;
  const result: SendResult = {
    outcome: retryable ? 'retry' : 'failed',
    responseCode: code,
    error,
  };
  const after = retryAfterMs(res.headers.get('retry-after'));
  if (retryable && after !== undefined) result.retryAfterMs = after;
  return result;
}

/** The outcome of a request that got no answer: a timeout or a network error, both retried. */
export function networkOutcome(
  err: unknown,
  what: string,
  signal: AbortSignal,
): SendResult {
  if (signal.aborted)
    return { outcome: 'retry', error: `${what} did not answer in time` };
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const why = e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
  return { outcome: 'retry', error: `${what} unreachable: ${why}` };
}

/** Retry-After as seconds or an HTTP date (RFC 9110 section 10.2.3), in milliseconds. */
export function retryAfterMs(
  value: string | null,
  nowMs = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
