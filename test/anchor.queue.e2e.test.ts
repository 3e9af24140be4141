import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANCHOR_JOB, anchorJobId } from '../src/anchor/jobs.js';
import { sealBatch } from '../src/anchor/seal.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { RedisQueue } from '../src/queue/redisQueue.js';
import {
  REDIS_URL,
  deleteQueueKeys,
  insertReadings,
  ledgerMessagesByBatch,
  pinsByCid,
  queueName,
} from './helpers/anchor.js';
import {
  anchorConfig,
  startTestWorker,
  type TestWorker,
} from './helpers/anchorWorker.js';
import { waitFor } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const log = createLogger('silent');

/** Seals `n` batches of 10 readings each, as a worker's seal job would. */
async function sealBatches(pool: Pool, n: number): Promise<string[]> {
  await insertReadings(pool, n * 10, `fridge-${n}-${Date.now()}`);
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const b = await sealBatch(pool, {
      mode: 'full',
      max: 10,
      windowSeconds: 3600,
      content: 'leaves',
    });
    ids.push(b!.id);
  }
  return ids;
}

async function anchoredCount(pool: Pool, ids: string[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    "select count(*)::int as n from anchor_batch where id = any($1::bigint[]) and state = 'anchored'",
    [ids],
  );
  return rows[0]!.n;
}

describe('the anchor queue on Redis', () => {
  let db: TestDatabase;
  let pool: Pool;
  let dataDir: string;
  const queue = queueName();
  const workers: TestWorker[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, log, { max: 4 });
    await migrate(pool, log);
    dataDir = mkdtempSync(join(tmpdir(), 'heru-queue-'));
  });

  afterAll(async () => {
    for (const w of workers) await w.close();
    await pool?.end();
    await db?.drop();
    await deleteQueueKeys(queue);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('anchors all of 100 waiting batches exactly once after their jobs vanished from Redis', async () => {
    const ids = await sealBatches(pool, 100);
    const producer = new RedisQueue({ url: new URL(REDIS_URL), name: queue }, log);
    for (const id of ids) await producer.add(ANCHOR_JOB, anchorJobId(id), { batch: id });
    expect(await producer.isLive(anchorJobId(ids[0]!))).toBe(true);
    await producer.close();

    expect(await deleteQueueKeys(queue)).toBeGreaterThan(100);

    const config = anchorConfig({ queue, dataDir, redisUrl: REDIS_URL });
    workers.push(startTestWorker(db.url, config));
    await waitFor(
      async () => ((await anchoredCount(pool, ids)) === 100 ? true : undefined),
      60_000,
      '100 anchored batches',
    );
    const messages = await ledgerMessagesByBatch(pool);
    expect(ids.map((id) => messages.get(id))).toEqual(ids.map(() => 1));
    const pins = await pinsByCid(dataDir);
    expect(pins.size).toBe(100);
    expect([...pins.values()].every((n) => n === 1)).toBe(true);
  });

  it('has two workers on the same queue anchor each of 100 batches once', async () => {
    await workers.pop()!.close();
    const ids = await sealBatches(pool, 100);
    const config = anchorConfig({ queue, dataDir, redisUrl: REDIS_URL });
    workers.push(startTestWorker(db.url, config), startTestWorker(db.url, config));
    // Both reconcilers find the new batches and both workers take jobs.
    await waitFor(
      async () => ((await anchoredCount(pool, ids)) === 100 ? true : undefined),
      60_000,
      '100 anchored batches',
    );
    const messages = await ledgerMessagesByBatch(pool);
    expect(ids.map((id) => messages.get(id))).toEqual(ids.map(() => 1));
    expect(messages.size).toBe(200);
    const pins = await pinsByCid(dataDir);
    expect(pins.size).toBe(200);
    expect([...pins.values()].every((n) => n === 1)).toBe(true);
    const perWorker = await Promise.all(
      workers.map(
        async (w) => (await w.metrics.batchesAnchored.get()).values[0]?.value ?? 0,
      ),
    );
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(100);
    expect(Math.min(...perWorker)).toBeGreaterThan(0);
  });

  it('leaves no live job behind once everything is anchored', async () => {
    const { rows } = await pool.query<{ id: string }>(
      'select id::text as id from anchor_batch',
    );
    expect(rows).toHaveLength(200);
    const producer = new RedisQueue({ url: new URL(REDIS_URL), name: queue }, log);
    const live = await Promise.all(rows.map((r) => producer.isLive(anchorJobId(r.id))));
    await producer.close();
    expect(live.filter(Boolean)).toHaveLength(0);
  });
});
