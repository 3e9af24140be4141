import { createHash, randomBytes } from 'node:crypto';
import {
  KEY_ALGORITHM,
  webcrypto,
  x509,
  type CryptoKey,
  type CryptoKeyPair,
} from './x509.js';

/** A new P-256 key pair; the private key can be exported once, to its file. */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

/** The private key as PKCS#8 PEM (`BEGIN PRIVATE KEY`), as OpenSSL and mbedTLS read it. */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n`;
}

/** Reads a PKCS#8 PEM private key for signing (the CA's). */
export async function importSigningKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return webcrypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign']);
}

/**
 * A fresh serial number: 16 random bytes as hex, positive and without a leading zero
 * byte (RFC 5280 allows up to 20 octets; a leading zero would be dropped by DER).
 */
export function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

/** SHA-256 of the certificate's DER, lowercase hex: the fingerprint the registry keeps. */
export function fingerprintOf(cert: x509.X509Certificate): string {
  return createHash('sha256').update(Buffer.from(cert.rawData)).digest('hex');
}
