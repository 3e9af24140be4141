import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import type { Pool } from './pool.js';

/** Folder of the numbered SQL migrations, `NNNN_name.sql`. */
export const MIGRATIONS_DIR = fileURLToPath(
  new URL('../../migrations/', import.meta.url),
);

// Any fixed number: two instances starting at once apply migrations one after the other.
const MIGRATION_LOCK = 0x68657275;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export async function listMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const sql = await readFile(`${dir}/${file}`, 'utf8');
      return {
        version: Number(file.slice(0, 4)),
        name: file.slice(5, -4),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    }),
  );
}

/**
 * Applies every migration not yet applied, each in its own transaction, and then
 * makes sure the time partitions for the months around now exist.
 * Refuses to run when an applied migration's file has changed since.
 */
export async function migrate(
  pool: Pool,
  log: Logger,
  dir = MIGRATIONS_DIR,
): Promise<number[]> {
  const migrations = await listMigrations(dir);
  const client = await pool.connect();
  // A connection lost while checked out emits 'error' on the client; without a
  // listener that would end the process instead of failing this call.
  const onError = (): void => undefined;
  client.on('error', onError);
  const applied: number[] = [];
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`create table if not exists schema_migration (
      version integer primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now())`);
    const { rows } = await client.query<{ version: number; checksum: string }>(
      'select version, checksum from schema_migration',
    );
    const done = new Map(rows.map((r) => [r.version, r.checksum]));
    for (const m of migrations) {
      const sum = done.get(m.version);
      if (sum !== undefined) {
        if (sum !== m.checksum) {
          throw new Error(
            `Migration ${m.version} (${m.name}) changed after it was applied; ` +
              'add a new migration instead of editing an applied one.',
          );
        }
        continue;
      }
      await client.query('begin');
      try {
        await client.query(m.sql);
        await client.query(
          'insert into schema_migration (version, name, checksum) values ($1, $2, $3)',
          [m.version, m.name, m.checksum],
        );
        await client.query('commit');
      } catch (err) {
        await client.query('rollback');
        const e = new Error(
          `Migration ${m.version} (${m.name}) failed: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
        throw Object.assign(e, { code: (err as { code?: unknown }).code });
      }
      applied.push(m.version);
      log.info({ version: m.version, migration: m.name }, 'migration applied');
    }
    await ensurePartitions(client);
  } finally {
    await client
      .query('select pg_advisory_unlock($1)', [MIGRATION_LOCK])
      .catch(() => undefined);
    client.off('error', onError);
    client.release();
  }
  return applied;
}

/**
 * Monthly partitions: readings from 2020 (older device times are not trusted) and raw
 * messages from last month, each up to three months ahead.
 */
export async function ensurePartitions(db: Pick<Pool, 'query'>): Promise<void> {
  await db.query(
    `select heru_ensure_month_partitions('reading', date '2020-01-01', (now() + interval '3 months')::date),
            heru_ensure_month_partitions('raw_message', (now() - interval '1 month')::date,
                                         (now() + interval '3 months')::date)`,
  );
}
