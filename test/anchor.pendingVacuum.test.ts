/**
 * The anchoring queue table is vacuumed by the worker itself: after many readings
 * were queued and sealed (inserted and deleted), a vacuum leaves no dead pages behind,
 * on PostgreSQL and on the embedded PGlite alike, and runs at most once a period.
 */
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { PendingVacuum } from '../src/anchor/pendingVacuum.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { PgliteWireServer } from '../src/embedded/pgWire.js';
import { createLogger } from '../src/log.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const log = createLogger('silent');
const ROWS = 20_000;

/** Queues and seals ROWS readings the way ingest and the sealer do: insert, delete. */
async function churn(pool: Pool): Promise<void> {
  await pool.query(
    `insert into anchor_pending (reading_id, reading_time)
     select g, now() from generate_series(1, $1::int) g`,
    [ROWS],
  );
  await pool.query('delete from anchor_pending');
}

async function pages(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ bytes: string }>(
    "select pg_relation_size('anchor_pending')::text as bytes",
  );
  return Number(rows[0]!.bytes) / 8192;
}

async function check(pool: Pool): Promise<void> {
  await migrate(pool, log);
  await churn(pool);
  expect(await pages(pool)).toBeGreaterThan(10);
  const vacuum = new PendingVacuum(pool, log, 60_000);
  expect(await vacuum.maybeRun(1_000_000)).toBe(true);
  // Every row was dead: the vacuum hands all the table's pages back.
  expect(await pages(pool)).toBe(0);
  // Not again within the period; again after it.
  expect(await vacuum.maybeRun(1_030_000)).toBe(false);
  expect(await vacuum.maybeRun(1_060_000)).toBe(true);
}

describe('vacuum of the anchoring queue table', () => {
  let db: TestDatabase | undefined;
  let pool: Pool | undefined;
  let lite: PGlite | undefined;
  let wire: PgliteWireServer | undefined;

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
    await wire?.close();
    await lite?.close();
  });

  it('returns the dead pages on PostgreSQL', async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, log, { max: 2 });
    await check(pool);
  });

  it('returns the dead pages on the embedded database', async () => {
    lite = await PGlite.create();
    wire = new PgliteWireServer(lite, log);
    const port = await wire.listen(0);
    const litePool = createPool(
      new URL(`postgres://postgres@127.0.0.1:${port}/postgres`),
      log,
      { max: 1 },
    );
    try {
      await check(litePool);
    } finally {
      await litePool.end();
    }
  }, 120_000);
});
