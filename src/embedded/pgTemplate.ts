/**
 * A ready database for the first start of the embedded PostgreSQL.
 *
 * PGlite's initdb and the migrations take seconds, most of a first start. So
 * `npm ci` (the `prepare` script, through buildPgTemplate.ts) builds one data folder
 * with every migration applied and leaves it in `dist/pgdata-template/`: `pgdata/`,
 * a spare copy of it `spare/`, and `manifest.json`, which names the PGlite version
 * and each migration applied with its checksum. A first start on an empty
 * HERU_DATA_DIR takes the spare by renaming it (no copying: a data folder is some
 * 1,600 files) and puts a new spare in its place once the server runs; when the
 * spare is gone or cannot be moved (another file system, a read-only install), it
 * copies `pgdata/` beside its destination and renames the copy into place, so a
 * start killed while copying leaves no half database. PGlite then opens it as an
 * existing database, and migrate applies only what is newer than the template.
 *
 * The template is used only when it fits: the PGlite version installed is the one
 * that wrote it, and every migration it holds is in `migrations/` unchanged. Else
 * (or when there is none, or EMBEDDED_PG_TEMPLATE is `off`) the first start runs
 * initdb as before, and the log says why.
 */
import { randomBytes } from 'node:crypto';
import {
  access,
  cp,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  writeFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { listMigrations, migrate, MIGRATIONS_DIR } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import type { Logger } from '../log.js';
import { PgliteWireServer } from './pgWire.js';

/** What `manifest.json` of a template says. */
export interface TemplateManifest {
  /** Version of `@electric-sql/pglite` that wrote the files. */
  pglite: string;
  /** The migrations applied in the template. */
  migrations: Array<{ version: number; name: string; checksum: string }>;
  /** ISO time the template was built. */
  builtAt: string;
}

/** How the embedded database's folder came to be at this start. */
export type PgdataOrigin = 'existing' | 'spare' | 'template' | 'initdb';

/** The template `npm ci` builds: `dist/pgdata-template`, whether run from src or dist. */
export const DEFAULT_TEMPLATE_DIR = fileURLToPath(
  new URL('../../dist/pgdata-template', import.meta.url),
);

/** The installed PGlite's version, from its package.json. */
export async function pgliteVersion(): Promise<string> {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  // The entry point is `{package}/dist/index.cjs`.
  const pkg = path.join(path.dirname(entry), '..', 'package.json');
  const parsed = JSON.parse(await readFile(pkg, 'utf8')) as { version?: unknown };
  if (typeof parsed.version !== 'string') throw new Error(`no version in ${pkg}`);
  return parsed.version;
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/** Why the template at `dir` cannot serve, or undefined when it can. */
export async function templateMismatch(dir: string): Promise<string | undefined> {
  let manifest: TemplateManifest;
  try {
    manifest = JSON.parse(
      await readFile(path.join(dir, 'manifest.json'), 'utf8'),
    ) as TemplateManifest;
  } catch {
    return `no template at ${dir}`;
  }
  if (!(await exists(path.join(dir, 'pgdata', 'PG_VERSION')))) {
    return `the template at ${dir} holds no database`;
  }
  const installed = await pgliteVersion();
  if (manifest.pglite !== installed) {
    return `the template was written by PGlite ${manifest.pglite}, this is ${installed}`;
  }
  const current = new Map((await listMigrations()).map((m) => [m.version, m]));
  for (const m of manifest.migrations) {
    if (current.get(m.version)?.checksum !== m.checksum) {
      return `migration ${m.version} (${m.name}) of the template differs from migrations/`;
    }
  }
  return undefined;
}

/**
 * Fills an absent or empty `pgdataDir` from the template and says where the
 * database comes from: an existing one, the template's spare copy (renamed into
 * place), a copy of the template, or (left to PGlite) initdb. `templateDir`
 * undefined: no template (EMBEDDED_PG_TEMPLATE=off).
 */
export async function seedFromTemplate(
  pgdataDir: string,
  templateDir: string | undefined,
  log: Logger,
): Promise<PgdataOrigin> {
  if (await exists(path.join(pgdataDir, 'PG_VERSION'))) return 'existing';
  const entries = await readdir(pgdataDir).catch(() => [] as string[]);
  if (entries.length > 0 || templateDir === undefined) return 'initdb';
  const mismatch = await templateMismatch(templateDir);
  if (mismatch !== undefined) {
    log.info({ reason: mismatch }, 'embedded PostgreSQL: no usable template, initdb');
    return 'initdb';
  }
  await rmdir(pgdataDir).catch(() => undefined);
  try {
    await rename(path.join(templateDir, 'spare'), pgdataDir);
    return 'spare';
  } catch {
    // Taken by another start, not refilled yet, another file system, or an install
    // folder this user may not change: copy instead.
  }
  const staging = `${pgdataDir}.seed-${randomBytes(4).toString('hex')}`;
  try {
    await cp(path.join(templateDir, 'pgdata'), staging, { recursive: true });
    await rename(staging, pgdataDir);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  return 'template';
}

/** Milliseconds after which an unfinished spare copy is taken for abandoned. */
const ABANDONED_FILL_MS = 10 * 60_000;

/**
 * Makes the template's spare copy again after a start took it: copied beside it and
 * renamed, so a start never takes half a copy. Fails quietly (logged at debug): the
 * next first start copies the template instead.
 */
export async function refillSpare(templateDir: string, log: Logger): Promise<void> {
  const spare = path.join(templateDir, 'spare');
  const filling = `${spare}.fill-${randomBytes(4).toString('hex')}`;
  try {
    if (await exists(spare)) return;
    for (const name of await readdir(templateDir)) {
      const old = path.join(templateDir, name);
      if (!name.startsWith('spare.fill-')) continue;
      const { mtimeMs } = await stat(old);
      if (Date.now() - mtimeMs > ABANDONED_FILL_MS) {
        await rm(old, { recursive: true, force: true });
      }
    }
    await cp(path.join(templateDir, 'pgdata'), filling, { recursive: true });
    await rename(filling, spare);
    log.debug({ spare }, 'embedded PostgreSQL: template spare copy made');
  } catch (err) {
    await rm(filling, { recursive: true, force: true }).catch(() => undefined);
    log.debug({ err: (err as Error).message }, 'embedded PostgreSQL: no spare copy');
  }
}

/**
 * Writes a template into `target` (replacing what is there): a new PGlite database
 * with the migrations of `migrationsDir` applied, closed cleanly, and its manifest.
 */
export async function buildPgTemplate(
  target: string,
  log: Logger,
  migrationsDir = MIGRATIONS_DIR,
): Promise<TemplateManifest> {
  const staging = `${target}.build-${randomBytes(4).toString('hex')}`;
  try {
    await mkdir(staging, { recursive: true });
    await migratedDatabase(path.join(staging, 'pgdata'), log, migrationsDir);
    const manifest: TemplateManifest = {
      pglite: await pgliteVersion(),
      migrations: (await listMigrations(migrationsDir)).map((m) => ({
        version: m.version,
        name: m.name,
        checksum: m.checksum,
      })),
      builtAt: new Date().toISOString(),
    };
    await writeFile(
      path.join(staging, 'manifest.json'),
      `${JSON.stringify(manifest, null, 2)}\n`,
    );
    await cp(path.join(staging, 'pgdata'), path.join(staging, 'spare'), {
      recursive: true,
    });
    await rm(target, { recursive: true, force: true });
    await rename(staging, target);
    return manifest;
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

/** Runs initdb in `dir` and migrates it through the wire server, as a start would. */
async function migratedDatabase(
  dir: string,
  log: Logger,
  migrationsDir: string,
): Promise<void> {
  const db = await PGlite.create({ dataDir: dir });
  const wire = new PgliteWireServer(db, log);
  try {
    const port = await wire.listen(0);
    const url = new URL(`postgres://postgres@127.0.0.1:${port}/postgres`);
    const pool = createPool(url, log, { max: 1 });
    try {
      await migrate(pool, log, migrationsDir);
    } finally {
      await pool.end();
    }
  } finally {
    await wire.close();
    await db.close();
  }
}
