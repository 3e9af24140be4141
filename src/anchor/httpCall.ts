/**
 * One HTTP call to a hosted API (Pinata, an IPFS node, a mirror node, Guardian) with a
 * deadline. Failures come back as HttpCallError carrying what the caller branches on:
 * a timeout (the request may have arrived), a refused or broken connection, or an
 * HTTP status with the server's Retry-After.
 */

export type HttpFailure = 'timeout' | 'network' | 'status';

export class HttpCallError extends Error {
  override readonly name = 'HttpCallError';

  constructor(
    readonly failure: HttpFailure,
    message: string,
    /** HTTP status when `failure` is `status`. */
    readonly status?: number,
    /** Milliseconds the server asked us to wait (Retry-After), when it said. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface HttpCall {
  method: 'GET' | 'POST';
  url: URL;
  headers?: Record<string, string>;
  body?: FormData | string;
  /** Milliseconds before the call is abandoned. */
  timeoutMs: number;
  /** What the call is, for messages: "Pinata pinFileToIPFS". */
  what: string;
}

export interface HttpAnswer {
  status: number;
  body: Uint8Array;
}

/**
 * Sends the call and reads the whole answer within `timeoutMs`. Resolves for 2xx;
 * throws HttpCallError for a timeout, a network failure or any other status.
 */
export async function httpCall(call: HttpCall): Promise<HttpAnswer> {
  const signal = AbortSignal.timeout(call.timeoutMs);
  let res: Response;
  let body: Uint8Array;
  try {
    res = await fetch(call.url, {
      method: call.method,
      headers: call.headers,
      body: call.body,
      signal,
    });
    body = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    if (signal.aborted) {
      throw new HttpCallError(
        'timeout',
        `${call.what} gave no complete answer within ${call.timeoutMs} ms; ` +
          'it may still have been carried out.',
      );
    }
    throw new HttpCallError(
      'network',
      `${call.what} could not reach ${call.url.origin}: ${causeOf(err)}.`,
    );
  }
  if (res.status < 200 || res.status > 299) {
    throw new HttpCallError(
      'status',
      `${call.what} answered HTTP ${res.status}: ${snippet(body)}`,
      res.status,
      retryAfterMs(res.headers.get('retry-after')),
    );
  }
  return { status: res.status, body };
}

/** Parses the answer body as JSON; throws a plain message when it is not. */
export function jsonOf(answer: HttpAnswer, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(answer.body)) as unknown;
  } catch {
    throw new Error(
      `${what} answered something that is not JSON: ${snippet(answer.body)}`,
    );
  }
}

/**
 * Retry-After as milliseconds: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Undefined when absent or unreadable.
 */
export function retryAfterMs(
  header: string | null,
  now = Date.now(),
): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

function snippet(body: Uint8Array): string {
  const text = new TextDecoder().decode(body.subarray(0, 300)).trim();
  return text === '' ? '(empty body)' : text;
}

/** Resolves after `ms` milliseconds, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
