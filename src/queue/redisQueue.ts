/**
 * The job queue on Redis through BullMQ, shared by every process that names the same
 * queue. Producers (ingest) use a connection without an offline queue, so adding a job
 * while Redis is down fails at once instead of waiting; the worker's connections
 * reconnect by themselves and resume. Finished jobs are kept for an hour (at most
 * 1,000), failed ones for a day (at most 1,000), so Redis memory stays flat.
 */
import { Queue, Worker, type Job as BullJob, type JobsOptions } from 'bullmq';
import type { HealthEntry } from '../health.js';
import type { Logger } from '../log.js';
import { redactUrl } from '../config/env.js';
import {
  JOB_ATTEMPTS,
  retryDelayMs,
  type AddOptions,
  type JobHandler,
  type JobQueue,
} from './jobQueue.js';

export interface RedisQueueOptions {
  url: URL;
  /** Queue name; processes with the same name share jobs. */
  name: string;
  /** Prefix of every Redis key, default `heru`. */
  prefix?: string;
  /**
   * Milliseconds a running job stays locked to its worker without renewal; a worker
   * that died is noticed after this, and its job runs again. Default 30 000.
   */
  lockMs?: number;
}

const LIVE_STATES = new Set([
  'waiting',
  'wait',
  'delayed',
  'active',
  'prioritized',
  'paused',
  'waiting-children',
]);

export class RedisQueue implements JobQueue {
  readonly kind = 'redis';
  private readonly queue: Queue;
  private worker: Worker | undefined;
  private lastError: { message: string; at: string } | undefined;
  private readonly jobOptions: JobsOptions = {
    attempts: JOB_ATTEMPTS,
    backoff: { type: 'custom' },
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 24 * 3600, count: 1000 },
  };

  constructor(
    private readonly options: RedisQueueOptions,
    private readonly log: Logger,
  ) {
    this.queue = new Queue(options.name, {
      connection: {
        url: options.url.toString(),
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectionName: 'heru-queue',
      },
      prefix: options.prefix ?? 'heru',
    });
    this.queue.on('error', (err: Error) => this.noteError(err));
  }

  async add(
    name: string,
    id: string,
    data: Record<string, string>,
    opts: AddOptions = {},
  ): Promise<void> {
    await this.queue.add(name, data, {
      ...this.jobOptions,
      jobId: id,
      delay: opts.delayMs ?? 0,
    });
  }

  async ensure(name: string, id: string, data: Record<string, string>): Promise<boolean> {
    const existing = await this.queue.getJob(id);
    if (existing) {
      const state = await existing.getState();
      if (LIVE_STATES.has(state)) return false;
      // A finished job keeps its id until removed; adding again would be a no-op.
      await existing.remove().catch(() => undefined);
    }
    await this.add(name, id, data);
    return true;
  }

  async isLive(id: string): Promise<boolean> {
    const job = await this.queue.getJob(id);
    return job !== undefined && LIVE_STATES.has(await job.getState());
  }

  process(handler: JobHandler, concurrency: number): void {
    const worker = new Worker(
      this.options.name,
      async (job: BullJob) => {
        await handler({
          name: job.name,
          id: job.id ?? '',
          data: job.data as Record<string, string>,
          attempt: job.attemptsMade + 1,
        });
      },
      {
        connection: {
          url: this.options.url.toString(),
          maxRetriesPerRequest: null,
          connectionName: 'heru-worker',
        },
        prefix: this.options.prefix ?? 'heru',
        concurrency,
        lockDuration: this.options.lockMs ?? 30_000,
        stalledInterval: Math.max(1000, Math.floor((this.options.lockMs ?? 30_000) / 2)),
        settings: {
          backoffStrategy: (attemptsMade: number) => retryDelayMs(attemptsMade),
        },
        autorun: true,
      },
    );
    worker.on('error', (err: Error) => this.noteError(err));
    worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= JOB_ATTEMPTS) {
        this.log.warn(
          { job: job.id, attempts: job.attemptsMade, err: err.message },
          'job failed',
        );
      }
    });
    this.worker = worker;
  }

  async pause(): Promise<void> {
    await this.worker?.pause(true);
  }

  async resume(): Promise<void> {
    await this.worker?.resume();
  }

  async health(): Promise<HealthEntry> {
    try {
      const counts = await this.queue.getJobCounts('wait', 'delayed', 'active', 'failed');
      return { status: 'ok', queue: 'redis', ...counts };
    } catch (err) {
      return {
        status: 'failing',
        detail: `Redis at ${redactUrl(this.options.url.toString())} does not answer (${(err as Error).message}); anchoring waits in PostgreSQL and resumes when it is back`,
        ...(this.lastError ? { lastError: this.lastError } : {}),
      };
    }
  }

  async close(): Promise<void> {
    const steps = [() => this.worker?.close(), () => this.queue.close()];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'queue close step failed');
      }
    }
  }

  private noteError(err: Error): void {
    const first = this.lastError === undefined;
    this.lastError = { message: err.message, at: new Date().toISOString() };
    if (first) this.log.warn({ err: err.message }, 'redis queue error');
    else this.log.debug({ err: err.message }, 'redis queue error');
  }
}
