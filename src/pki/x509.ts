/**
 * The X.509 library with Node's WebCrypto behind it. Every module of the PKI imports
 * the library from here, so that its Reflect polyfill is loaded first (the library's
 * dependency injection needs it at import time) and its crypto provider is set once.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto);

export { x509, webcrypto };

export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/**
 * Keys are ECDSA on P-256: small certificates and fast handshakes on an ESP32
 * (mbedTLS), and accepted by Mosquitto's OpenSSL.
 */
export const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
