import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Config } from '../config/config.js';

/** The file in which a running embedded server leaves its database URL. */
export function embeddedUrlFile(dataDir: string): string {
  return path.resolve(dataDir, 'postgres.url');
}

/**
 * DATABASE_URL, or else the embedded database of a server running on the same
 * HERU_DATA_DIR (`npm start`), for the commands that need a database (`heru verify`,
 * `heru device`, …). Throws with what to do when neither is there.
 */
export function databaseUrlOf(config: Config): URL {
  if (config.databaseUrl) return config.databaseUrl;
  const file = embeddedUrlFile(config.anchor.dataDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(
      `DATABASE_URL is not set and no embedded server runs with HERU_DATA_DIR=${config.anchor.dataDir} (no ${file}): start it with \`npm start\`, or set DATABASE_URL (a URL such as postgres://user@127.0.0.1:5432/heru)`,
    );
  }
  return new URL(text.trim());
}

/**
 * Refuses to start a second embedded database on the same folder: PGlite takes no
 * lock of its own, and two processes writing one data folder would corrupt it.
 */
export async function assertFolderFree(dataDir: string): Promise<void> {
  let url: URL;
  try {
    url = new URL(readFileSync(embeddedUrlFile(dataDir), 'utf8').trim());
  } catch {
    return;
  }
  const answers = await new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: Number(url.port) });
    s.setTimeout(1_000, () => s.destroy());
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    // Refused: the server that wrote the file is gone (killed); the folder is free.
    s.once('error', () => resolve(false));
    s.once('close', () => resolve(false));
  });
  if (answers) {
    throw new Error(
      `another heru server uses HERU_DATA_DIR=${dataDir} (its database answers at ${url.host}): stop it first, or set HERU_DATA_DIR to another folder`,
    );
  }
}
