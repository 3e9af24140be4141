/**
 * Voluntary Application Server Identification (RFC 8292): the server signs a short
 * JWT (ES256) for each push service origin, and sends it with its public key in
 * `Authorization: vapid t=<jwt>, k=<key>`. The browser subscribed with that public
 * key as `applicationServerKey`, so a push service refuses anyone else's messages.
 */
import { createECDH, createPrivateKey, sign, type KeyObject } from 'node:crypto';

/** A VAPID key pair as base64url strings, the form `.env` holds. */
export interface VapidKeys {
  /** Uncompressed P-256 point, 65 bytes. */
  publicKey: string;
  /** Private scalar, 32 bytes. */
  privateKey: string;
}

/** Seconds a VAPID token is valid; RFC 8292 allows at most 24 hours. */
const TOKEN_LIFETIME_S = 12 * 3600;

/** A fresh key pair for `heru vapid generate`. */
export function generateVapidKeys(): VapidKeys {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return {
    publicKey: ecdh.getPublicKey().toString('base64url'),
    privateKey: ecdh.getPrivateKey().toString('base64url'),
  };
}

/** Signs VAPID tokens with one key pair; throws at construction when the pair does not match. */
export class VapidSigner {
  private readonly key: KeyObject;

  constructor(
    private readonly keys: VapidKeys,
    private readonly subject: string,
  ) {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(keys.privateKey, 'base64url'));
    const pub = ecdh.getPublicKey();
    if (pub.toString('base64url') !== keys.publicKey) {
      throw new Error(
        'VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY; generate both with `heru vapid generate`.',
      );
    }
    this.key = createPrivateKey({
      format: 'jwk',
      key: {
        kty: 'EC',
        crv: 'P-256',
        d: keys.privateKey,
        x: pub.subarray(1, 33).toString('base64url'),
        y: pub.subarray(33, 65).toString('base64url'),
      },
    });
  }

  /** The `Authorization` header value for a message to `endpoint`. */
  authorization(endpoint: URL, nowMs = Date.now()): string {
    const header = b64json({ typ: 'JWT', alg: 'ES256' });
    const claims = b64json({
      aud: endpoint.origin,
      exp: Math.floor(nowMs / 1000) + TOKEN_LIFETIME_S,
      sub: this.subject,
    });
    const input = `${header}.${claims}`;
    // JWS wants the raw r || s form of the signature, not DER.
    const signature = sign('sha256', Buffer.from(input), {
      key: this.key,
      dsaEncoding: 'ieee-p1363',
    });
    return `vapid t=${input}.${signature.toString('base64url')}, k=${this.keys.publicKey}`;
  }
}

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
