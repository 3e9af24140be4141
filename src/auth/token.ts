import { createHash, randomBytes } from 'node:crypto';

/** Every token starts with this, so a leaked one is recognised (and redacted). */
export const TOKEN_PREFIX = 'heru_';

/** Random bytes in a token: 32 (256 bits), written as 43 base64url characters. */
const TOKEN_BYTES = 32;

/** A token inside any text (a log line, an error), for redaction. */
export const TOKEN_PATTERN = /heru_[A-Za-z0-9_-]{43}/g;

/** A new token: the prefix and 32 random bytes. Shown once, never stored. */
export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
}

/** What the database keeps of a token: its SHA-256 (32 bytes). */
export function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
