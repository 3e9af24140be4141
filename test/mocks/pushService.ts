/**
 * A push service on 127.0.0.1 speaking RFC 8030 as browsers' push services do, with
 * a browser's side of the subscription: it makes the subscription's keys, and for
 * each message checks the VAPID token (RFC 8292) against the key the subscription
 * was made with, then decrypts the aes128gcm body (RFC 8188, RFC 8291) with the
 * subscription's private key. Written apart from the server's own code, so that a
 * mistake made on both sides in the same way would still have to match the RFC.
 */
import {
  createDecipheriv,
  createECDH,
  createHmac,
  createPublicKey,
  randomBytes,
  verify,
  type ECDH,
} from 'node:crypto';
import type http from 'node:http';
import { sendJson, startHttpServer } from './httpServer.js';

export interface Subscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface ReceivedPush {
  endpoint: string;
  /** The decrypted payload, parsed as JSON. */
  payload: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
  claims: { aud: string; exp: number; sub: string };
}

export interface MockPushService {
  url: URL;
  received: ReceivedPush[];
  /** Requests refused, with the reason. */
  refused: string[];
  /** A browser subscribing with the server's VAPID public key. */
  subscribe(applicationServerKey: string): Subscription;
  /** From now on the subscription answers 410 Gone (the user revoked it). */
  expire(endpoint: string): void;
  close(): Promise<void>;
}

interface Held {
  ecdh: ECDH;
  auth: Buffer;
  serverKey: string;
  gone: boolean;
}

export async function startPushService(): Promise<MockPushService> {
  const subs = new Map<string, Held>();
  const received: ReceivedPush[] = [];
  const refused: string[] = [];
  let base = '';
  let count = 0;

  const server = await startHttpServer((req, res, body) => {
    const endpoint = `${base}${req.url ?? ''}`;
    const sub = subs.get(endpoint);
    if (req.method !== 'POST' || !sub)
      return sendJson(res, 404, { error: 'no such subscription' });
    if (sub.gone) return sendJson(res, 410, { error: 'subscription expired' });
    const refuse = (status: number, why: string): void => {
      refused.push(why);
      sendJson(res, status, { error: why });
    };
    if (req.headers['content-encoding'] !== 'aes128gcm')
      return refuse(415, 'not aes128gcm');
    if (!/^\d+$/.test(String(req.headers.ttl))) return refuse(400, 'TTL header missing');
    const auth = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), ?k=([\w-]+)$/.exec(
      req.headers.authorization ?? '',
    );
    if (!auth) return refuse(401, 'no vapid authorization');
    if (auth[2] !== sub.serverKey)
      return refuse(403, 'key differs from the subscription');
    const claims = checkJwt(auth[1]!, auth[2], base);
    if (typeof claims === 'string') return refuse(401, claims);
    let plaintext: Buffer;
    try {
      plaintext = decrypt(body, sub);
    } catch (err) {
      return refuse(400, `cannot decrypt: ${(err as Error).message}`);
    }
    const payload = JSON.parse(plaintext.toString('utf8')) as Record<string, unknown>;
    received.push({ endpoint, payload, headers: req.headers, claims });
    count += 1;
    res.writeHead(201, { location: `${base}/message/${count}` });
    res.end();
  });
  base = server.url.origin;

  return {
    url: server.url,
    received,
    refused,
    subscribe(applicationServerKey) {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16);
      const endpoint = `${base}/push/${randomBytes(12).toString('base64url')}`;
      subs.set(endpoint, { ecdh, auth, serverKey: applicationServerKey, gone: false });
      return {
        endpoint,
        keys: {
          p256dh: ecdh.getPublicKey().toString('base64url'),
          auth: auth.toString('base64url'),
        },
      };
    },
    expire(endpoint) {
      const sub = subs.get(endpoint);
      if (sub) sub.gone = true;
    },
    close: () => server.close(),
  };
}

/** Checks an ES256 VAPID JWT; returns its claims, or why it is refused. */
function checkJwt(
  jwt: string,
  key: string,
  origin: string,
): ReceivedPush['claims'] | string {
  const [h, c, s] = jwt.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<
    string,
    unknown
  >;
  if (header.alg !== 'ES256') return 'JWT alg is not ES256';
  const point = Buffer.from(key, 'base64url');
  const publicKey = createPublicKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33, 65).toString('base64url'),
    },
  });
  const signature = Buffer.from(s, 'base64url');
  if (signature.length !== 64) return 'JWT signature is not 64 bytes';
  const ok = verify(
    'sha256',
    Buffer.from(`${h}.${c}`),
    { key: publicKey, dsaEncoding: 'ieee-p1363' },
    signature,
  );
  if (!ok) return 'JWT signature does not verify';
  const claims = JSON.parse(
    Buffer.from(c, 'base64url').toString(),
  ) as ReceivedPush['claims'];
  const now = Date.now() / 1000;
  if (claims.aud !== origin) return `JWT aud ${claims.aud} is not ${origin}`;
  if (!(claims.exp > now && claims.exp <= now + 86_400)) return 'JWT exp outside 24 h';
  if (!/^(mailto:|https:)/.test(claims.sub)) return 'JWT sub is no contact';
  return claims;
}

/** The receiving side of RFC 8291: derive the key and nonce, open each record, drop the padding. */
export function decrypt(body: Buffer, sub: { ecdh: ECDH; auth: Buffer }): Buffer {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const senderKey = body.subarray(21, 21 + idlen);
  const records = body.subarray(21 + idlen);
  const uaPublic = sub.ecdh.getPublicKey();
  const shared = sub.ecdh.computeSecret(senderKey);

  const mac = (k: Buffer, d: Buffer): Buffer =>
    createHmac('sha256', k).update(d).digest();
  const info = Buffer.concat([
    Buffer.from('WebPush: info', 'ascii'),
    Buffer.alloc(1),
    uaPublic,
    senderKey,
  ]);
  const ikm = mac(mac(sub.auth, shared), Buffer.concat([info, Buffer.of(0x01)]));
  const prk = mac(salt, ikm);
  const key = mac(
    prk,
    Buffer.from('Content-Encoding: aes128gcm\u0000\u0001', 'ascii'),
  ).subarray(0, 16);
  const nonceBase = mac(
    prk,
    Buffer.from('Content-Encoding: nonce\u0000\u0001', 'ascii'),
  ).subarray(0, 12);

  const parts: Buffer[] = [];
  for (let seq = 0, at = 0; at < records.length; seq += 1, at += rs) {
    const record = records.subarray(at, Math.min(at + rs, records.length));
    const nonce = Buffer.from(nonceBase);
    // The record's sequence number is XORed into the low end of the nonce.
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ seq) >>> 0, 8);
    const decipher = createDecipheriv('aes-128-gcm', key, nonce);
    decipher.setAuthTag(record.subarray(record.length - 16));
    const plain = Buffer.concat([
      decipher.update(record.subarray(0, record.length - 16)),
      decipher.final(),
    ]);
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end -= 1;
    const last = at + rs >= records.length;
    if (plain[end] !== (last ? 2 : 1)) throw new Error('bad record delimiter');
    parts.push(plain.subarray(0, end));
  }
  return Buffer.concat(parts);
}
