/**
 * The reconciler: PostgreSQL says what is still to anchor, the queue may have lost it
 * (Redis restarted empty, a job failed after its retries, a job id still kept as
 * completed). Every pass it adds a seal job when pending readings are due, and an
 * anchor job for every unfinished batch that no worker holds and that has no live
 * job. Runs once at start and then every `reconcileSeconds`; it also keeps the
 * pending table vacuumed (src/anchor/pendingVacuum.ts).
 */
import type { AnchorConfig } from '../config/config.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import type { JobQueue } from '../queue/jobQueue.js';
import { unclaimedBatchIds } from './batches.js';
import { anchorJobId, ANCHOR_JOB, SEAL_JOB } from './jobs.js';
import type { AnchorMetrics } from './metrics.js';
import { PendingVacuum } from './pendingVacuum.js';
import { hasDuePending, pendingSummary } from './seal.js';

/** Batches looked at in one pass; more wait for the next one. */
const BATCHES_PER_PASS = 1000;

export interface ReconcileResult {
  sealQueued: boolean;
  batchesQueued: number;
}

export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly vacuum: PendingVacuum;

  constructor(
    private readonly pool: Pool,
    private readonly queue: JobQueue,
    private readonly config: AnchorConfig,
    private readonly metrics: AnchorMetrics,
    private readonly log: Logger,
  ) {
    this.vacuum = new PendingVacuum(pool, log);
  }

  start(): void {
    const every = this.config.reconcileSeconds * 1000;
    const run = (): void => {
      if (this.closed) return;
      this.running = this.pass()
        .catch((err: Error) =>
          this.log.warn({ err: err.message }, 'reconciler pass failed; next one retries'),
        )
        .finally(() => {
          if (!this.closed) this.timer = setTimeout(run, every);
        });
    };
    run();
  }

  /** One pass; also what tests and `heru worker --once` call. */
  async pass(): Promise<ReconcileResult> {
    await this.vacuum.maybeRun();
    const summary = await pendingSummary(this.pool);
    this.metrics.pendingReadings.set(summary.readings);
    this.metrics.oldestPendingSeconds.set(summary.oldestSeconds ?? 0);

    let sealQueued = false;
    const full = summary.readings >= this.config.batchMax;
    if (full || (await hasDuePending(this.pool, this.config.batchWindowSeconds))) {
      sealQueued = await this.queue.ensure(SEAL_JOB, 'seal-reconcile', { mode: 'due' });
    }

    const ids = await unclaimedBatchIds(this.pool, BATCHES_PER_PASS);
    this.metrics.unfinishedBatches.set(ids.length);
    let batchesQueued = 0;
    for (const id of ids) {
      if (await this.queue.ensure(ANCHOR_JOB, anchorJobId(id), { batch: id }))
        batchesQueued += 1;
    }
    this.metrics.requeued.inc(batchesQueued + (sealQueued ? 1 : 0));
    if (batchesQueued > 0) {
      this.log.info({ batches: batchesQueued }, 'reconciler queued unfinished batches');
    }
    if (sealQueued) {
      this.log.debug({ pendingReadings: summary.readings }, 'reconciler queued a seal');
    }
    return { sealQueued, batchesQueued };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
