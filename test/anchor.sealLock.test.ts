/**
 * One sealer at a time: a seal waits for the sealer at work, but only so long.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEAL_LOCK, sealBatch, type SealOptions } from '../src/anchor/seal.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { insertReadings } from './helpers/anchor.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const log = createLogger('silent');
const FULL: SealOptions = {
  mode: 'full',
  max: 10,
  windowSeconds: 3600,
  content: 'leaves',
};

describe('the seal lock', () => {
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, log, { max: 4 });
    await migrate(pool, log);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('gives up after its wait while another session holds the lock, and seals once it is free', async () => {
    await insertReadings(pool, 10, `lock-${Date.now()}`);
    const holder = new pg.Client({ connectionString: db.url.toString() });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('select pg_advisory_xact_lock($1)', [SEAL_LOCK]);

      expect(await sealBatch(pool, { ...FULL, waitForLock: false })).toBeUndefined();
      const t0 = performance.now();
      expect(await sealBatch(pool, { ...FULL, lockWaitMs: 400 })).toBeUndefined();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(390);

      // A seal waiting when the holder lets go goes on and seals.
      const waiting = sealBatch(pool, { ...FULL, lockWaitMs: 10_000 });
      await new Promise((r) => setTimeout(r, 200));
      await holder.query('rollback');
      expect((await waiting)?.count).toBe(10);
    } finally {
      await holder.end();
    }
  });
});
