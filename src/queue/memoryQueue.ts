/**
 * The in-process job queue, used when REDIS_URL is not set: the same contract as the
 * Redis queue for one process. A job is waiting (possibly delayed), running, or gone;
 * a job that throws is retried with backoff up to JOB_ATTEMPTS times and then dropped,
 * which loses nothing because PostgreSQL still holds the work and the reconciler adds
 * it again. A restart empties the queue the same way, with the same remedy.
 */
import type { HealthEntry } from '../health.js';
import type { Logger } from '../log.js';
import {
  JOB_ATTEMPTS,
  retryDelayMs,
  type AddOptions,
  type Job,
  type JobHandler,
  type JobQueue,
} from './jobQueue.js';

interface Entry {
  job: Job;
  runAt: number;
  running: boolean;
}

export class MemoryQueue implements JobQueue {
  readonly kind = 'in-process';
  private readonly entries = new Map<string, Entry>();
  private handler: JobHandler | undefined;
  private concurrency = 1;
  private running = 0;
  private paused = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly log: Logger) {}

  add(
    name: string,
    id: string,
    data: Record<string, string>,
    opts: AddOptions = {},
  ): Promise<void> {
    if (!this.entries.has(id) && !this.closed) {
      const job: Job = { name, id, data: { ...data }, attempt: 1 };
      this.entries.set(id, {
        job,
        runAt: Date.now() + (opts.delayMs ?? 0),
        running: false,
      });
      this.pump();
    }
    return Promise.resolve();
  }

  async ensure(name: string, id: string, data: Record<string, string>): Promise<boolean> {
    if (this.entries.has(id)) return false;
    await this.add(name, id, data);
    return true;
  }

  isLive(id: string): Promise<boolean> {
    return Promise.resolve(this.entries.has(id));
  }

  process(handler: JobHandler, concurrency: number): void {
    this.handler = handler;
    this.concurrency = Math.max(1, concurrency);
    this.pump();
  }

  pause(): Promise<void> {
    this.paused = true;
    return Promise.resolve();
  }

  resume(): Promise<void> {
    this.paused = false;
    this.pump();
    return Promise.resolve();
  }

  health(): Promise<HealthEntry> {
    return Promise.resolve({
      status: 'ok',
      queue: 'in-process',
      jobs: this.entries.size,
      running: this.running,
      paused: this.paused,
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlight]);
    this.entries.clear();
  }

  /** Starts every job that is due while there is room, and wakes up for the next one. */
  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.handler || this.paused || this.closed) return;
    const now = Date.now();
    let next = Infinity;
    for (const entry of this.entries.values()) {
      if (entry.running) continue;
      if (entry.runAt > now) {
        next = Math.min(next, entry.runAt);
      } else if (this.running < this.concurrency) {
        this.start(entry, this.handler);
      }
    }
    if (next !== Infinity) {
      this.timer = setTimeout(() => this.pump(), Math.max(1, next - now));
      this.timer.unref();
    }
  }

  private start(entry: Entry, handler: JobHandler): void {
    entry.running = true;
    this.running += 1;
    const run = handler(entry.job).then(
      () => {
        this.entries.delete(entry.job.id);
      },
      (err: Error) => this.failed(entry, err),
    );
    const tracked = run.finally(() => {
      entry.running = false;
      this.running -= 1;
      this.inFlight.delete(tracked);
      this.pump();
    });
    this.inFlight.add(tracked);
  }

  private failed(entry: Entry, err: Error): void {
    const { job } = entry;
    if (job.attempt >= JOB_ATTEMPTS || this.closed) {
      this.log.warn(
        { job: job.id, attempts: job.attempt, err: err.message },
        'job failed',
      );
      this.entries.delete(job.id);
      return;
    }
    const wait = retryDelayMs(job.attempt);
    this.log.debug(
      { job: job.id, attempt: job.attempt, retryInMs: wait, err: err.message },
      'job will be retried',
    );
    entry.job = { ...job, attempt: job.attempt + 1 };
    entry.runAt = Date.now() + wait;
  }
}
