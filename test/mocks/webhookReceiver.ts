/**
 * A webhook receiver on 127.0.0.1 that does what docs/notifications.md tells
 * integrators to do: recompute HMAC-SHA256 over `<Heru-Timestamp>.<raw body>` with
 * the shared secret, compare in constant time, refuse a timestamp more than five
 * minutes from its clock, and drop a delivery id it has already seen.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { sendJson, startHttpServer } from './httpServer.js';

export interface ReceivedHook {
  deliveryId: string;
  event: string;
  body: Record<string, unknown>;
  /** performance.now() when it arrived. */
  at: number;
}

export type ReceiverMode = 'ok' | 'down' | 'hang';

export interface MockWebhookReceiver {
  url: URL;
  received: ReceivedHook[];
  /** Requests refused for a bad signature or timestamp. */
  refused: string[];
  /** Requests that arrived while down, with their time (ms since epoch). */
  downHits: number[];
  /** ok: accept; down: answer 503; hang: never answer. */
  setMode(mode: ReceiverMode): void;
  /** The secret to check signatures with (known after the channel is created). */
  setSecret(secret: string): void;
  /** Called for each accepted hook (for latency measurements). */
  onHook?: (hook: ReceivedHook) => void;
  close(): Promise<void>;
}

const WINDOW_S = 300;

export async function startWebhookReceiver(
  path = '/hooks/heru',
): Promise<MockWebhookReceiver> {
  let secret = '';
  let mode: ReceiverMode = 'ok';
  const seen = new Set<string>();
  const receiver: MockWebhookReceiver = {
    url: new URL('http://127.0.0.1'),
    received: [],
    refused: [],
    downHits: [],
    setMode: (m) => {
      mode = m;
    },
    setSecret: (s) => {
      secret = s;
    },
    close: () => server.close(),
  };

  const server = await startHttpServer((req, res, raw) => {
    if (mode === 'hang') return;
    if (mode === 'down') {
      receiver.downHits.push(Date.now());
      return sendJson(res, 503, { error: 'down for maintenance' });
    }
    if (req.method !== 'POST' || req.url !== path) return sendJson(res, 404, {});
    const timestamp = String(req.headers['heru-timestamp'] ?? '');
    const signature = String(req.headers['heru-signature'] ?? '');
    const why = refusal(secret, timestamp, signature, raw);
    if (why) {
      receiver.refused.push(why);
      return sendJson(res, 401, { error: why });
    }
    const deliveryId = String(req.headers['heru-delivery']);
    if (!seen.has(deliveryId)) {
      seen.add(deliveryId);
      const hook: ReceivedHook = {
        deliveryId,
        event: String(req.headers['heru-event']),
        body: JSON.parse(raw.toString('utf8')) as Record<string, unknown>,
        at: performance.now(),
      };
      receiver.received.push(hook);
      receiver.onHook?.(hook);
    }
    res.writeHead(204);
    res.end();
  });
  receiver.url = new URL(path, server.url);
  return receiver;
}

function refusal(
  secret: string,
  timestamp: string,
  header: string,
  raw: Buffer,
): string | undefined {
  if (!/^\d+$/.test(timestamp)) return 'no timestamp';
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > WINDOW_S)
    return 'timestamp outside the window';
  const mac = createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(raw);
  const expected = Buffer.from(`v1=${mac.digest('hex')}`);
  const ok = header
    .split(',')
    .map((v) => Buffer.from(v.trim()))
    .some((v) => v.length === expected.length && timingSafeEqual(v, expected));
  return ok ? undefined : 'signature does not match';
}
