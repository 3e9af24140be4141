/**
 * The anchor worker: takes seal and anchor jobs from the queue and runs the
 * reconciler. Seal jobs turn due pending readings into batches and queue one anchor
 * job per batch; anchor jobs move a batch to `anchored` (anchorBatch.ts). When the
 * ledger refuses a batch for good, the worker stops taking jobs and /health says why:
 * sending more would only spend fees on transactions that will be refused too.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { AnchorConfig } from '../config/config.js';
import type { Pool } from '../db/pool.js';
import type { Health, HealthEntry } from '../health.js';
import type { Logger } from '../log.js';
import type { Job, JobQueue } from '../queue/jobQueue.js';
import { anchorBatch } from './anchorBatch.js';
import type { IpfsBackend, LedgerBackend, LedgerError } from './backends.js';
import type { GuardianClient } from './guardian.js';
import { ANCHOR_JOB, SEAL_JOB, anchorJobId } from './jobs.js';
import type { AnchorMetrics } from './metrics.js';
import { batchBacklog } from './batches.js';
import { Reconciler } from './reconciler.js';
import { databaseNow, sealBatch, type SealMode } from './seal.js';

/** Seconds an unfinished batch may wait before /health calls anchoring failing. */
const STUCK_SECONDS = 900;

/** Most batches one seal job seals; the rest wait for the next job. */
const SEALS_PER_JOB = 200;

export interface AnchorWorkerDeps {
  pool: Pool;
  queue: JobQueue;
  ipfs: IpfsBackend;
  ledger: LedgerBackend;
  /** Files each anchored batch with a Guardian policy block, when configured. */
  guardian?: GuardianClient | undefined;
  config: AnchorConfig;
  metrics: AnchorMetrics;
  log: Logger;
}

export class AnchorWorker {
  readonly reconciler: Reconciler;
  /** This process's name in batch leases. */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private paused:
    { batchId: string; status: string; message: string; at: string } | undefined;
  private readonly log: Logger;

  constructor(private readonly d: AnchorWorkerDeps) {
    this.log = d.log.child({ part: 'anchor' });
    this.reconciler = new Reconciler(d.pool, d.queue, d.config, d.metrics, this.log);
  }

  start(): void {
    this.d.queue.process((job) => this.run(job), this.d.config.concurrency);
    this.reconciler.start();
    this.log.info(
      {
        queue: this.d.queue.kind,
        ipfs: this.d.ipfs.name,
        ledger: this.d.ledger.name,
        topic: this.d.ledger.topicId,
        window: this.d.config.batchWindowSeconds,
        batchMax: this.d.config.batchMax,
      },
      'anchor worker started',
    );
  }

  registerHealth(health: Health): void {
    health.register('anchor', () => this.health());
    health.register('queue', () => this.d.queue.health());
    health.register('ipfs', () => this.d.ipfs.health());
    health.register('ledger', () => this.d.ledger.health());
  }

  async close(): Promise<void> {
    await this.reconciler.close();
  }

  /**
   * Seals the batches `mode` allows (see seal.ts); returns their ids. One sealer
   * works at a time: a `full` job that finds another at work leaves at once (that one
   * goes on while full batches wait); a window's job or the reconciler's waits its
   * turn (up to 10 s), as it may have a partial batch to seal.
   */
  async seal(mode: SealMode): Promise<string[]> {
    const { config, pool, queue, metrics } = this.d;
    const ids: string[] = [];
    const before = mode === 'window' ? await databaseNow(pool) : undefined;
    let current = mode;
    while (ids.length < SEALS_PER_JOB) {
      const batch = await sealBatch(pool, {
        mode: current,
        max: config.batchMax,
        windowSeconds: config.batchWindowSeconds,
        content: config.manifestContent,
        waitForLock: current !== 'full',
        ...(before && current === 'window' ? { before } : {}),
      });
      if (!batch && current === 'window') {
        // The window is sealed; full batches that came meanwhile go on the same turn.
        current = 'full';
        continue;
      }
      if (!batch) break;
      ids.push(batch.id);
      metrics.batchesSealed.inc();
      metrics.readingsSealed.inc(batch.count);
      this.log.debug({ batch: batch.id, readings: batch.count }, 'batch sealed');
      queue
        .add(ANCHOR_JOB, anchorJobId(batch.id), { batch: batch.id })
        .catch((err: Error) =>
          this.log.warn(
            { batch: batch.id, err: err.message },
            'anchor job not queued; the reconciler will',
          ),
        );
    }
    return ids;
  }

  /** Anchors one batch as far as it goes now. */
  async anchor(batchId: string): Promise<void> {
    const started = Date.now();
    const outcome = await anchorBatch(
      {
        pool: this.d.pool,
        ipfs: this.d.ipfs,
        ledger: this.d.ledger,
        guardian: this.d.guardian,
        log: this.log,
        owner: this.owner,
        leaseSeconds: this.d.config.leaseSeconds,
        onPermanentFailure: (id, err) => this.pause(id, err),
      },
      batchId,
    ).catch((err: unknown) => {
      this.d.metrics.stepErrors.inc();
      throw err;
    });
    if (outcome !== 'busy' && outcome.anchoredNow) {
      const b = outcome.batch;
      this.d.metrics.batchesAnchored.inc();
      this.d.metrics.readingsAnchored.inc(b.reading_count);
      this.d.metrics.sealToAnchorSeconds.observe(
        (Date.now() - b.created_at.getTime()) / 1000,
      );
    }
    const state = outcome === 'busy' ? outcome : outcome.batch.state;
    this.log.trace(
      { batch: batchId, state, ms: Date.now() - started },
      'anchor job done',
    );
  }

  private async run(job: Job): Promise<void> {
    if (job.name === SEAL_JOB) {
      const mode = job.data.mode;
      await this.seal(mode === 'window' || mode === 'full' ? mode : 'due');
    } else if (job.name === ANCHOR_JOB && job.data.batch) {
      await this.anchor(job.data.batch);
    } else {
      this.log.warn({ job: job.id, name: job.name }, 'unknown job dropped');
    }
  }

  private pause(batchId: string, err: LedgerError): void {
    this.paused = {
      batchId,
      status: err.status,
      message: err.message,
      at: new Date().toISOString(),
    };
    this.d.metrics.batchesFailed.inc();
    // The operator alarm: one line at error with what to do; /health turns failing.
    this.log.error(
      { alarm: 'operator', batch: batchId, status: err.status, err: err.message },
      'anchoring paused: the ledger refused a batch for good; fix the ledger settings, ' +
        'then run `heru worker --retry-failed`',
    );
    this.d.queue
      .pause()
      .catch((e: Error) => this.log.warn({ err: e.message }, 'queue pause failed'));
  }

  private async health(): Promise<HealthEntry> {
    if (this.paused) {
      return {
        status: 'failing',
        detail:
          `anchoring paused since ${this.paused.at}: the ledger refused batch ` +
          `${this.paused.batchId} (${this.paused.status}: ${this.paused.message}); fix the ` +
          'ledger settings and run `heru worker --retry-failed`',
      };
    }
    const backlog = await batchBacklog(this.d.pool);
    const stuckAfter = Math.max(STUCK_SECONDS, 10 * this.d.config.batchWindowSeconds);
    const entry = {
      window: this.d.config.batchWindowSeconds,
      batchMax: this.d.config.batchMax,
      unfinishedBatches: backlog.unfinished,
      refusedBatches: backlog.refused,
    };
    if (backlog.refused > 0 || (backlog.oldestSeconds ?? 0) > stuckAfter) {
      const age = Math.round((backlog.oldestSeconds ?? 0) / 60);
      return {
        status: 'failing',
        detail:
          `${backlog.unfinished} batches not anchored, the oldest sealed ${age} min ago; ` +
          `${backlog.refused} refused for good; last error: ${backlog.lastError ?? 'none'}`,
        ...entry,
      };
    }
    return { status: 'ok', ...entry };
  }
}
