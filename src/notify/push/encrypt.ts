/**
 * Message encryption for Web Push (RFC 8291) in the aes128gcm content coding
 * (RFC 8188), with node:crypto only.
 *
 * The application server makes a one-off P-256 key pair, agrees a secret with the
 * browser's subscription key (`p256dh`), mixes in the subscription's `auth` secret,
 * and encrypts the payload as a single record. The body carries the salt, the record
 * size and the one-off public key in its header, so no other header is needed.
 */
import {
  createCipheriv,
  createECDH,
  createHmac,
  randomBytes,
  type ECDH,
} from 'node:crypto';

/** The keys of a browser's push subscription, as `PushSubscription.toJSON()` gives them. */
export interface SubscriptionKeys {
  /** Uncompressed P-256 public key, base64url (65 bytes). */
  p256dh: string;
  /** Authentication secret, base64url (16 bytes). */
  auth: string;
}

/** Largest payload, in bytes, that fits the 4096-byte record push services accept. */
export const MAX_PUSH_PLAINTEXT = 4096 - 86 - 17;

const RECORD_SIZE = 4096;
const TAG_LENGTH = 16;

/** Fixed inputs for the RFC's test vector; real messages always use fresh ones. */
export interface EncryptOptions {
  salt?: Buffer;
  senderKeys?: ECDH;
}

/** Encrypts `plaintext` for one subscription; returns the request body. */
export function encryptPushPayload(
  plaintext: Buffer,
  keys: SubscriptionKeys,
  options: EncryptOptions = {},
): Buffer {
  if (plaintext.length > MAX_PUSH_PLAINTEXT) {
    throw new Error(
      `A push payload is at most ${MAX_PUSH_PLAINTEXT} bytes; this one is ${plaintext.length}.`,
    );
  }
  const uaPublic = Buffer.from(keys.p256dh, 'base64url');
  const authSecret = Buffer.from(keys.auth, 'base64url');
  const sender = options.senderKeys ?? newKeyPair();
  const asPublic = sender.getPublicKey();
  const salt = options.salt ?? randomBytes(16);

  // RFC 8291 section 3.4: the input keying material for the content coding.
  const ecdhSecret = sender.computeSecret(uaPublic);
  const prkKey = hmac(authSecret, ecdhSecret);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = hmac(prkKey, Buffer.concat([keyInfo, Buffer.from([1])]));

  // RFC 8188 section 2.2 and 2.3: content-encryption key and nonce.
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01')).subarray(0, 12);

  // One record, so its sequence number is 0 and the nonce is used as it is; the
  // delimiter 0x02 marks the last record, with no padding after it.
  const cipher = createCipheriv('aes-128-gcm', cek, nonce);
  const record = Buffer.concat([
    cipher.update(Buffer.concat([plaintext, Buffer.from([2])])),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
  if (record.length > RECORD_SIZE || cipher.getAuthTag().length !== TAG_LENGTH) {
    throw new Error('The encrypted push record does not fit its record size.');
  }

  const header = Buffer.alloc(21);
  salt.copy(header, 0);
  header.writeUInt32BE(RECORD_SIZE, 16);
  header.writeUInt8(asPublic.length, 20);
  return Buffer.concat([header, asPublic, record]);
}

/** Checks that subscription keys have the sizes and form RFC 8291 requires. */
export function checkSubscriptionKeys(keys: SubscriptionKeys): string | undefined {
  const p256dh = Buffer.from(keys.p256dh, 'base64url');
  if (p256dh.length !== 65 || p256dh[0] !== 4) {
    return 'keys.p256dh must be an uncompressed P-256 public key (65 bytes, base64url)';
  }
  try {
    newKeyPair().computeSecret(p256dh);
  } catch {
    return 'keys.p256dh is not a point on the P-256 curve';
  }
  if (Buffer.from(keys.auth, 'base64url').length !== 16) {
    return 'keys.auth must be 16 bytes, base64url';
  }
  return undefined;
}

function newKeyPair(): ECDH {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return ecdh;
}

function hmac(key: Buffer, data: Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
