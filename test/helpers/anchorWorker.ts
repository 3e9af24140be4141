/**
 * An anchor worker of the test's own, in this process: its own PostgreSQL pool, its
 * own BullMQ connections on the test's queue, the local store and local ledger.
 */
import { Registry } from 'prom-client';
import type { IpfsBackend, LedgerBackend } from '../../src/anchor/backends.js';
import { LocalLedger } from '../../src/anchor/localLedger.js';
import { LocalStore } from '../../src/anchor/localStore.js';
import { createAnchorMetrics, type AnchorMetrics } from '../../src/anchor/metrics.js';
import { AnchorWorker } from '../../src/anchor/worker.js';
import type { AnchorConfig } from '../../src/config/config.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { createLogger } from '../../src/log.js';
import { RedisQueue } from '../../src/queue/redisQueue.js';
import { join } from 'node:path';

export interface TestWorker {
  worker: AnchorWorker;
  queue: RedisQueue;
  pool: Pool;
  metrics: AnchorMetrics;
  close(): Promise<void>;
}

export function anchorConfig(o: {
  queue: string;
  dataDir: string;
  redisUrl: string;
  batchMax?: number;
}): AnchorConfig {
  return {
    batchWindowSeconds: 1,
    batchMax: o.batchMax ?? 10,
    manifestContent: 'leaves',
    concurrency: 4,
    reconcileSeconds: 1,
    leaseSeconds: 3,
    redisUrl: new URL(o.redisUrl),
    queueName: o.queue,
    dataDir: o.dataDir,
  };
}

/** Starts a worker; `wrap` may decorate its backends (the crash tests do). */
export function startTestWorker(
  databaseUrl: URL,
  config: AnchorConfig,
  wrap: (b: { ipfs: IpfsBackend; ledger: LedgerBackend }) => {
    ipfs: IpfsBackend;
    ledger: LedgerBackend;
  } = (b) => b,
): TestWorker {
  const log = createLogger(
    (process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent',
  );
  const pool = createPool(databaseUrl, log, { max: 6 });
  const queue = new RedisQueue(
    { url: config.redisUrl!, name: config.queueName, lockMs: 2000 },
    log,
  );
  const metrics = createAnchorMetrics(new Registry());
  const backends = wrap({
    ipfs: new LocalStore(join(config.dataDir, 'ipfs')),
    ledger: new LocalLedger(pool),
  });
  const worker = new AnchorWorker({ pool, queue, ...backends, config, metrics, log });
  worker.start();
  return {
    worker,
    queue,
    pool,
    metrics,
    async close() {
      await worker.close();
      await queue.close();
      await pool.end();
    },
  };
}
