/**
 * The benchmark's own PostgreSQL databases on the local server, created empty and
 * dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server the benchmark creates its databases on (trust auth on 127.0.0.1). */
export const ADMIN_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  name: string;
  url: URL;
  /** A single connection for the benchmark's own queries. */
  client: pg.Client;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createBenchDatabase(role: string): Promise<BenchDatabase> {
  const name = `heru_bench_${role}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`create database ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return {
    name,
    url,
    client,
    async drop() {
      await client.end().catch(() => undefined);
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}

/**
 * Readings stored so far, from the per-device counters that each ingest commit
 * updates in the same transaction (a small table, cheap to sum while loaded).
 */
export async function storedReadings(c: pg.Client): Promise<number> {
  const { rows } = await c.query<{ n: string }>(
    `select coalesce(sum(reading_count), 0)::text as n from device`,
  );
  return Number(rows[0]!.n);
}

/** Rows in `reading` and `raw_message`, and how many natural keys repeat. */
export async function tableCounts(
  c: pg.Client,
): Promise<{ readings: number; rawMessages: number; repeatedKeys: number }> {
  const { rows } = await c.query<{ r: string; m: string; d: string }>(
    `select (select count(*) from reading)::text as r,
            (select count(*) from raw_message)::text as m,
            (select count(*) from (select device_id, boot, seq from reading
                                   group by 1, 2, 3 having count(*) > 1) x)::text as d`,
  );
  const row = rows[0]!;
  return {
    readings: Number(row.r),
    rawMessages: Number(row.m),
    repeatedKeys: Number(row.d),
  };
}

export async function serverSettings(c: pg.Client): Promise<string> {
  const { rows } = await c.query<{ s: string }>(
    `select string_agg(name || '=' || setting || coalesce(unit, ''), ' ' order by name) as s
       from pg_settings
      where name in ('shared_buffers', 'synchronous_commit', 'fsync', 'wal_level',
                     'max_wal_size', 'checkpoint_timeout')`,
  );
  return rows[0]!.s;
}
