import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeWholeFile } from '../wholeFile.js';
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
    await writeWholeFile(this.pathOf(cid), bytes);
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
