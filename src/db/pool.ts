import pg from 'pg';
import type { Logger } from '../log.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/**
 * Options of the PostgreSQL pool. Every session runs in UTC and without JIT
 * compilation: the server's queries are short, and over the monthly partitions of
 * `reading` the planner's estimates pass the JIT thresholds while the table grows; a
 * seal then spent 2.6 of its 2.8 s compiling 359 functions (found by the soak).
 * The embedded database's wire server does not take these options; PGlite has no JIT
 * and runs in UTC by default.
 */
export interface PoolOptions {
  /** Most connections, default 10. */
  max?: number;
  /** Name shown in pg_stat_activity. */
  applicationName?: string;
}

// int8 and numeric come back as strings by default; bigint ids stay strings in the
// API (JSON has no 64-bit integers) and counts are converted where they are read.
export function createPool(url: URL, log: Logger, options: PoolOptions = {}): Pool {
  const pool = new pg.Pool({
    connectionString: url.toString(),
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'heru',
    options: '-c TimeZone=UTC -c jit=off',
    connectionTimeoutMillis: 5_000,
    // Kept a while: a new backend plans its first queries over the 88 partitions slowly.
    idleTimeoutMillis: 300_000,
  });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', (err) =>
    log.warn({ err: err.message }, 'postgres idle connection lost'),
  );
  return pool;
}

/** Runs `fn` in one transaction on one connection; rolls back when it throws. */
export async function transaction<T>(
  pool: Pool,
  fn: (c: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  // The pool listens for errors only on idle clients: a connection lost while this one
  // is checked out would be an uncaught 'error' and end the process. The query in
  // flight fails with the same error, which is what the caller sees.
  const onError = (): void => {
    broken = true;
  };
  client.on('error', onError);
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    try {
      await client.query('rollback');
    } catch {
      broken = true;
    }
    throw err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}
