import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from '../log.js';
import { PgliteWireServer } from './pgWire.js';

/** The embedded database: its URL for the pool, and how to stop it. */
export interface EmbeddedPostgres {
  url: URL;
  /** Folder of the database files. */
  dir: string;
  close(): Promise<void>;
}

/**
 * Starts PGlite with its files in `{dataDir}/pgdata` (created on first start) and
 * serves it on a free loopback port. The pool reaches it as any PostgreSQL server.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: Logger,
): Promise<EmbeddedPostgres> {
  const dir = path.resolve(dataDir, 'pgdata');
  await mkdir(dir, { recursive: true });
  const db = await PGlite.create({ dataDir: dir });
  const wire = new PgliteWireServer(db, log);
  const port = await wire.listen(0);
  log.info({ dir }, 'embedded PostgreSQL (PGlite): DATABASE_URL is not set');
  return {
    url: new URL(`postgres://postgres@127.0.0.1:${port}/postgres`),
    dir,
    async close() {
      await wire.close();
      await db.close();
    },
  };
}
