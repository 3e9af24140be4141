/**
 * Mosquitto's password file, for devices whose firmware cannot hold a certificate.
 *
 * One `username:hash` a line. The hash is the format Mosquitto 2.0 writes by default
 * (`mosquitto_passwd -H sha512-pbkdf2`) and checks on every CONNECT:
 *
 *   $7$<iterations>$<salt, base64 of 12 random bytes>$<base64 of PBKDF2-HMAC-SHA512,
 *   64 bytes, over the password with the decoded salt>
 *
 * The broker reads the file at start and on SIGHUP. The file is written with mode
 * 0600 and replaced by rename; a password is never written anywhere else.
 */
import { pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeWholeFile } from '../wholeFile.js';

/**
 * PBKDF2 iterations of a new hash, default 1000 (Mosquitto's own default is 101).
 * The broker pays them on every password CONNECT: about 1 ms each on one core at
 * 1000, which a fleet reconnecting at once can afford.
 */
export const PASSWORD_ITERATIONS = 1000;
const SALT_BYTES = 12;
const HASH_BYTES = 64;

/** A line's hash for `password`, in Mosquitto's `$7$` format. */
export function hashPassword(
  password: string,
  iterations = PASSWORD_ITERATIONS,
  salt: Buffer = randomBytes(SALT_BYTES),
): string {
  const hash = pbkdf2Sync(password, salt, iterations, HASH_BYTES, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** True when `password` matches a `$7$` hash (as the broker would decide). */
export function verifyPassword(password: string, stored: string): boolean {
  const m = /^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return false;
  const expected = Buffer.from(m[3]!, 'base64');
  const got = pbkdf2Sync(
    password,
    Buffer.from(m[2]!, 'base64'),
    Number(m[1]),
    expected.length,
    'sha512',
  );
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** A new random password: 24 characters of base64url (144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/** The users and hashes of a password file, in file order; empty when there is none. */
export async function readPasswordFile(path: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  const users = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) users.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return users;
}

/** Sets (adds or replaces) one user's password in the file. */
export async function setPassword(
  path: string,
  user: string,
  password: string,
): Promise<void> {
  if (user.includes(':') || /\s/.test(user)) {
    throw new Error(
      `a Mosquitto user name cannot hold ":" or white space: ${JSON.stringify(user)}`,
    );
  }
  const users = await readPasswordFile(path);
  users.set(user, hashPassword(password));
  await writePasswordFile(path, users);
}

/** Removes a user; true when it was there. */
export async function removePassword(path: string, user: string): Promise<boolean> {
  const users = await readPasswordFile(path);
  if (!users.delete(user)) return false;
  await writePasswordFile(path, users);
  return true;
}

/** Creates an empty file when there is none (the broker will not start without it). */
export async function ensurePasswordFile(path: string): Promise<void> {
  const users = await readPasswordFile(path);
  if (users.size === 0) await writePasswordFile(path, users);
}

async function writePasswordFile(
  path: string,
  users: Map<string, string>,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const text = [...users].map(([u, h]) => `${u}:${h}\n`).join('');
  await writeWholeFile(path, text, 0o600);
}
