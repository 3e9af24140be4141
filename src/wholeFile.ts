/**
 * Writes a file so that a crash leaves either the whole new file or the old one: the
 * bytes go to a fresh temporary name beside it (created with its final mode before
 * anything is written), are flushed to disk, and the temporary file is renamed over
 * the final name.
 */
import { randomBytes } from 'node:crypto';
import { chmod, open, rename, rm } from 'node:fs/promises';

export async function writeWholeFile(
  path: string,
  data: Uint8Array | string,
  mode = 0o644,
): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const file = await open(temp, 'wx', mode);
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    // The process's umask may have narrowed the mode given to open.
    await chmod(temp, mode);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
