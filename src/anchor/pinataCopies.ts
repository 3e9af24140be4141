import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { normalCid } from './cid.js';

/**
 * A copy on disk of every file pinned to Pinata, kept under its CID, so `heru verify`
 * can read a manifest without a gateway. Written to a temporary name and renamed, so
 * a crash leaves the whole file or none.
 */
export class PinnedCopies {
  constructor(readonly dir: string) {}

  async put(cid: string, bytes: Uint8Array): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const final = this.pathOf(cid);
    const temp = `${final}.${randomBytes(4).toString('hex')}.tmp`;
    const file = await open(temp, 'wx');
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(temp, final);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  /** The copy's bytes, or undefined when there is none. */
  async get(cid: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.pathOf(cid));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private pathOf(cid: string): string {
    return join(this.dir, normalCid(cid));
  }
}
