import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from '../log.js';
import { PgliteWireServer } from './pgWire.js';
import { refillSpare, seedFromTemplate, type PgdataOrigin } from './pgTemplate.js';

/** Milliseconds after a first start before the template's spare is made again. */
const REFILL_AFTER_MS = 15_000;

/** The embedded database: its URL for the pool, and how to stop it. */
export interface EmbeddedPostgres {
  url: URL;
  /** Folder of the database files. */
  dir: string;
  /** Where the database came from at this start. */
  origin: PgdataOrigin;
  close(): Promise<void>;
}

/**
 * Starts PGlite with its files in `{dataDir}/pgdata` and serves it on a free
 * loopback port; the pool reaches it as any PostgreSQL server. On first start the
 * folder is copied from `templateDir` when that fits (pgTemplate.ts), else PGlite
 * runs initdb; `templateDir` undefined skips the template.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  templateDir: string | undefined,
  log: Logger,
): Promise<EmbeddedPostgres> {
  const dir = path.resolve(dataDir, 'pgdata');
  await mkdir(path.dirname(dir), { recursive: true });
  const origin = await seedFromTemplate(dir, templateDir, log);
  await mkdir(dir, { recursive: true });
  const db = await PGlite.create({ dataDir: dir });
  const wire = new PgliteWireServer(db, log);
  const port = await wire.listen(0).catch(async (err: unknown) => {
    await db.close();
    throw err;
  });
  log.info({ dir, origin }, 'embedded PostgreSQL (PGlite): DATABASE_URL is not set');
  // A first start that found no spare, or took it, leaves one for the next; once the
  // start is over, as the copy costs the disk and a CPU for a few seconds.
  const refill =
    (origin === 'spare' || origin === 'template') && templateDir !== undefined
      ? setTimeout(() => void refillSpare(templateDir, log), REFILL_AFTER_MS).unref()
      : undefined;
  return {
    url: new URL(`postgres://postgres@127.0.0.1:${port}/postgres`),
    dir,
    origin,
    async close() {
      clearTimeout(refill);
      await wire.close();
      await db.close();
    },
  };
}
