/**
 * First starts of the embedded database from a real template: one built from fewer
 * migrations than migrations/ holds (the template `npm ci` built before a pull that
 * added migrations) is used, and the newer migrations are applied at start; without a
 * template the start falls back to initdb. Either way the server comes up healthy
 * with every migration.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { listMigrations, MIGRATIONS_DIR } from '../src/db/migrate.js';
import { buildPgTemplate } from '../src/embedded/pgTemplate.js';
import { createLogger } from '../src/log.js';
import { EmbeddedServer } from './helpers/embeddedServer.js';

async function appliedMigrations(dataDir: string): Promise<number[]> {
  const url = (await readFile(join(dataDir, 'postgres.url'), 'utf8')).trim();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ version: number }>(
      'select version from schema_migration order by version',
    );
    return r.rows.map((row) => row.version);
  } finally {
    await client.end();
  }
}

describe('the first start of the embedded database', () => {
  const folders: string[] = [];
  let server: EmbeddedServer | undefined;

  afterEach(async () => {
    await server?.stop();
    server = undefined;
    for (const f of folders.splice(0)) await rm(f, { recursive: true, force: true });
  });

  const folder = async (name: string): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), `heru-${name}-`));
    folders.push(dir);
    return dir;
  };

  it('uses a template older than the migrations and applies the newer ones', async () => {
    const all = await listMigrations();
    const older = await folder('older-migrations');
    const files = (await readdir(MIGRATIONS_DIR))
      .filter((f) => f.endsWith('.sql'))
      .sort();
    for (const f of files.slice(0, -2)) await cp(join(MIGRATIONS_DIR, f), join(older, f));
    const template = join(await folder('template'), 'pgdata-template');
    await buildPgTemplate(template, createLogger('warn'), older);

    const dataDir = await folder('embedded-older');
    server = await EmbeddedServer.create(dataDir, { EMBEDDED_PG_TEMPLATE: template });
    await server.start();

    const started = server.logs.find((l) =>
      String(l.msg).startsWith('embedded PostgreSQL (PGlite)'),
    );
    expect(started?.origin).toBe('spare');
    const applied = server.logs
      .filter((l) => l.msg === 'migration applied')
      .map((l) => l.version);
    expect(applied).toEqual(all.slice(-2).map((m) => m.version));
    expect(await appliedMigrations(dataDir)).toEqual(all.map((m) => m.version));
  });

  it('runs initdb when there is no template', async () => {
    const dataDir = await folder('embedded-initdb');
    const missing = join(dataDir, 'no-template-here');
    await mkdir(join(dataDir, 'pgdata'));
    server = await EmbeddedServer.create(dataDir, { EMBEDDED_PG_TEMPLATE: missing });
    await server.start();

    const started = server.logs.find((l) =>
      String(l.msg).startsWith('embedded PostgreSQL (PGlite)'),
    );
    expect(started?.origin).toBe('initdb');
    const why = server.logs.find((l) => String(l.msg).includes('no usable template'));
    expect(why?.reason).toContain('no template at');
    const all = await listMigrations();
    expect(await appliedMigrations(dataDir)).toEqual(all.map((m) => m.version));
  });
});
