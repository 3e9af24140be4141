/**
 * A data folder the server cannot write: `heru serve` stops at once with the exit
 * code of a configuration error (78) and a message naming HERU_DATA_DIR, not a bare
 * system error from deep inside the start.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveUntilExit } from './helpers/embeddedServer.js';

describe('heru serve with a data folder it cannot write', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'heru-datadir-'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const serve = (dataDir: string) => serveUntilExit({ HERU_DATA_DIR: dataDir }, 60_000);

  it('names HERU_DATA_DIR when the path runs through a file', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'not a folder');
    const r = await serve(join(file, 'data'));
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('configuration error: HERU_DATA_DIR is');
    expect(r.stderr).toContain('ENOTDIR');
    expect(r.stderr).toContain('set HERU_DATA_DIR to such a folder');
  });
});
