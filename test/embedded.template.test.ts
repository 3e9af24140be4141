/**
 * How a first start chooses the embedded database's files (src/embedded/pgTemplate.ts):
 * the template's spare copy, else a copy of the template, else initdb; and a template
 * is used only when its PGlite version and its migrations match the installed ones.
 * These tests use stand-in folders; the e2e test starts real databases from templates.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listMigrations } from '../src/db/migrate.js';
import {
  pgliteVersion,
  refillSpare,
  seedFromTemplate,
  templateMismatch,
  type TemplateManifest,
} from '../src/embedded/pgTemplate.js';
import { createLogger } from '../src/log.js';

/** A logger whose lines the test reads. */
function capturingLogger(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger('debug', sink), lines };
}

/** A stand-in data folder: PG_VERSION and one file with `marker` in it. */
async function fakePgdata(dir: string, marker: string): Promise<void> {
  await mkdir(join(dir, 'base'), { recursive: true });
  await writeFile(join(dir, 'PG_VERSION'), '17\n');
  await writeFile(join(dir, 'base', 'marker'), marker);
}

describe('the embedded database template', () => {
  let root: string;
  let template: string;
  let manifest: TemplateManifest;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'heru-pg-template-'));
    template = join(root, 'template');
    const migrations = await listMigrations();
    manifest = {
      pglite: await pgliteVersion(),
      migrations: migrations.slice(0, -1).map((m) => ({
        version: m.version,
        name: m.name,
        checksum: m.checksum,
      })),
      builtAt: new Date().toISOString(),
    };
    await fakePgdata(join(template, 'pgdata'), 'template');
    await fakePgdata(join(template, 'spare'), 'spare');
    await writeFile(join(template, 'manifest.json'), JSON.stringify(manifest));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const writeManifest = (m: TemplateManifest) =>
    writeFile(join(template, 'manifest.json'), JSON.stringify(m));

  it('serves a template that holds fewer migrations than migrations/', async () => {
    expect(await templateMismatch(template)).toBeUndefined();
  });

  it('takes the spare copy for a first start, then copies the template', async () => {
    const { log } = capturingLogger();
    const first = join(root, 'a', 'pgdata');
    const second = join(root, 'b', 'pgdata');
    await mkdir(join(root, 'a'));
    await mkdir(second, { recursive: true });

    expect(await seedFromTemplate(first, template, log)).toBe('spare');
    expect(await readFile(join(first, 'base', 'marker'), 'utf8')).toBe('spare');
    expect(await seedFromTemplate(second, template, log)).toBe('template');
    expect(await readFile(join(second, 'base', 'marker'), 'utf8')).toBe('template');
    // The copy went through a folder beside it, renamed: nothing of it is left.
    expect(await readdir(join(root, 'b'))).toEqual(['pgdata']);
  });

  it('makes a new spare copy after one was taken', async () => {
    const { log } = capturingLogger();
    await seedFromTemplate(join(root, 'pgdata'), template, log);
    await refillSpare(template, log);
    expect(await readFile(join(template, 'spare', 'base', 'marker'), 'utf8')).toBe(
      'template',
    );
    expect((await readdir(template)).sort()).toEqual([
      'manifest.json',
      'pgdata',
      'spare',
    ]);
  });

  it('leaves an existing database alone', async () => {
    const { log } = capturingLogger();
    const dir = join(root, 'pgdata');
    await fakePgdata(dir, 'mine');
    expect(await seedFromTemplate(dir, template, log)).toBe('existing');
    expect(await readFile(join(dir, 'base', 'marker'), 'utf8')).toBe('mine');
  });

  it('runs initdb, saying why, when a migration of the template was changed since', async () => {
    const { log, lines } = capturingLogger();
    const changed = structuredClone(manifest);
    changed.migrations[0]!.checksum = 'f'.repeat(64);
    await writeManifest(changed);
    expect(await templateMismatch(template)).toMatch(
      /migration 1 \(.+\) of the template differs/,
    );
    expect(await seedFromTemplate(join(root, 'pgdata'), template, log)).toBe('initdb');
    expect(lines.join('')).toContain('no usable template');
  });

  it('runs initdb when the template was written by another PGlite', async () => {
    await writeManifest({ ...manifest, pglite: '0.0.1' });
    expect(await templateMismatch(template)).toMatch(/PGlite 0\.0\.1/);
  });

  it('runs initdb when there is no template, or it is turned off', async () => {
    const { log } = capturingLogger();
    const missing = join(root, 'nowhere');
    expect(await templateMismatch(missing)).toMatch(/no template/);
    expect(await seedFromTemplate(join(root, 'x', 'pgdata'), missing, log)).toBe(
      'initdb',
    );
    expect(await seedFromTemplate(join(root, 'y', 'pgdata'), undefined, log)).toBe(
      'initdb',
    );
  });
});
