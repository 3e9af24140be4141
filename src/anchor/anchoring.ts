/**
 * Anchoring's part in a process: the queue, the worker (role `worker`) and ingest's
 * notifier. A process that only ingests adds jobs only to a shared (Redis) queue; an
 * in-process queue without a worker in the same process would just fill up, and the
 * worker's reconciler finds the readings in PostgreSQL anyway.
 */
import type { Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import type { Env } from '../config/env.js';
import type { Pool } from '../db/pool.js';
import type { Health } from '../health.js';
import type { IngestPipeline } from '../ingest/pipeline.js';
import type { Logger } from '../log.js';
import type { JobQueue } from '../queue/jobQueue.js';
import { createAnchorMetrics } from './metrics.js';
import { AnchorNotifier } from './notifier.js';
import { createBackends, createQueue, type AnchorBackends } from './setup.js';
import { AnchorWorker } from './worker.js';

export interface Anchoring {
  worker?: AnchorWorker;
  queue?: JobQueue;
  /** Lets ingest's commits queue seal jobs. */
  attach(pipeline: IngestPipeline): void;
  close(): Promise<void>;
}

export async function startAnchoring(o: {
  worker: boolean;
  ingest: boolean;
  pool: Pool;
  config: Config;
  env: Env;
  log: Logger;
  registry: Registry;
  health: Health;
}): Promise<Anchoring> {
  const cfg = o.config.anchor;
  const useQueue = o.worker || (o.ingest && cfg.redisUrl !== undefined);
  const queue = useQueue ? await createQueue(cfg, o.log) : undefined;
  const metrics = createAnchorMetrics(o.registry);

  let worker: AnchorWorker | undefined;
  let backends: AnchorBackends | undefined;
  if (o.worker && queue) {
    backends = await createBackends(o.env, cfg, o.pool, o.log).catch(
      async (err: unknown) => {
        await queue.close();
        throw err;
      },
    );
    worker = new AnchorWorker({
      pool: o.pool,
      queue,
      ...backends,
      config: cfg,
      metrics,
      log: o.log,
    });
    worker.registerHealth(o.health);
    worker.start();
  } else if (queue) {
    o.health.register('queue', () => queue.health());
  }

  return {
    ...(worker ? { worker } : {}),
    ...(queue ? { queue } : {}),
    attach(pipeline) {
      if (!queue) return;
      const notifier = new AnchorNotifier(
        queue,
        cfg,
        metrics,
        o.log.child({ part: 'anchor' }),
      );
      pipeline.on('stored', (result) => notifier.stored(result.readingsStored));
    },
    async close() {
      // The worker first: its reconciler uses the queue.
      await worker?.close();
      await queue?.close();
      backends?.close();
    },
  };
}
