import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { ConfigError } from './ConfigError.js';

/**
 * Fails at once, naming HERU_DATA_DIR, when the data folder cannot be created or
 * written by this user (a path under a file, a read-only disk, another owner): the
 * embedded database, certificates and local proofs all live there.
 */
export async function assertDataDirWritable(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(
      'HERU_DATA_DIR',
      `a folder this user can create and write (${code}: ${(err as Error).message}); ` +
        'set HERU_DATA_DIR to such a folder',
      dir,
    );
  }
}
