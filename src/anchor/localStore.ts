/**
 * A content-addressed store on disk, used when neither Pinata nor an IPFS node is
 * configured: each file is kept under its CID (the same CID an IPFS node gives it),
 * written to a temporary name, flushed and renamed, so a crash leaves either the whole
 * file or none. Every pin is also appended to `pins.log`, one line each, which is how
 * an operator (or a test) sees how often something was pinned.
 */
import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { HealthEntry } from '../health.js';
import { writeWholeFile } from '../wholeFile.js';
import type { IpfsBackend } from './backends.js';
import { cidOf, isCid, normalCid } from './cid.js';

export class LocalStore implements IpfsBackend {
  readonly name = 'local';
  private readonly objects: string;
  /** One line per pin: time, CID, name. */
  readonly pinLog: string;

  /** `dir` is the store's own folder, e.g. `$HERU_DATA_DIR/ipfs`. */
  constructor(readonly dir: string) {
    this.objects = join(dir, 'objects');
    this.pinLog = join(dir, 'pins.log');
  }

  async pin(bytes: Uint8Array, name: string): Promise<string> {
    const cid = await cidOf(bytes);
    await mkdir(this.objects, { recursive: true });
    await writeWholeFile(this.pathOf(cid), bytes);
    const safeName = name.replace(/[^\w.:-]/g, '_');
    await appendFile(this.pinLog, `${new Date().toISOString()} ${cid} ${safeName}\n`);
    return cid;
  }

  async isPinned(cid: string): Promise<boolean> {
    try {
      await stat(this.pathOf(cid));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async fetch(cid: string): Promise<Uint8Array> {
    try {
      return await readFile(this.pathOf(cid));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(`the local store in ${this.dir} holds no file with CID ${cid}`);
      }
      throw err;
    }
  }

  async health(): Promise<HealthEntry> {
    try {
      await mkdir(this.objects, { recursive: true });
      return { status: 'ok', backend: 'local', dir: this.dir };
    } catch (err) {
      return {
        status: 'failing',
        detail: `cannot write the local store ${this.dir}: ${(err as Error).message}; check HERU_DATA_DIR`,
      };
    }
  }

  private pathOf(cid: string): string {
    if (!isCid(cid)) throw new Error(`${JSON.stringify(cid)} is not a CID`);
    return join(this.objects, normalCid(cid));
  }
}
