/**
 * A job queue that only distributes work; what the work is, and whether it is still
 * to be done, lives in PostgreSQL. Two implementations: BullMQ on Redis (several
 * processes share the jobs) and an in-process queue (one process, nothing to set
 * up). Both deliver each job at least once: a handler must be idempotent.
 *
 * Job ids are chosen by the caller and name the work (`batch-42`, `seal-1733320000`),
 * so adding the same work twice while it waits is a no-op.
 */
import type { HealthEntry } from '../health.js';

/** One job as a handler sees it. */
export interface Job {
  name: string;
  id: string;
  data: Readonly<Record<string, string>>;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
}

/** Runs a job; a throw means "retry later" (with backoff, up to the queue's attempts). */
export type JobHandler = (job: Job) => Promise<void>;

export interface AddOptions {
  /** Milliseconds before the job may run, default 0. */
  delayMs?: number;
}

export interface JobQueue {
  /** `redis` or `in-process`. */
  readonly kind: string;
  /**
   * Adds a job unless one with the same id is waiting, delayed or running. Rejects when
   * the queue cannot be reached; callers that must not fail (ingest) catch it.
   */
  add(
    name: string,
    id: string,
    data: Record<string, string>,
    opts?: AddOptions,
  ): Promise<void>;
  /**
   * Like add, and also replaces a job with that id that has already finished or failed
   * (an id still kept as completed would otherwise swallow the new job). Resolves to
   * true when a job was added, false when a live one was already there.
   */
  ensure(name: string, id: string, data: Record<string, string>): Promise<boolean>;
  /** True when a job with this id waits, is delayed or runs. */
  isLive(id: string): Promise<boolean>;
  /** Starts running jobs with `handler`, at most `concurrency` at once. */
  process(handler: JobHandler, concurrency: number): void;
  /** Stops taking new jobs (running ones finish); `resume` takes them again. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  health(): Promise<HealthEntry>;
  /** Stops taking jobs, waits for running ones, and disconnects. */
  close(): Promise<void>;
}

/** How often a job is tried before it is left failed (the reconciler re-adds it). */
export const JOB_ATTEMPTS = 8;

/** Milliseconds before retry `attempt` (1-based): 1 s, 2 s, 4 s … at most 60 s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(60_000, 1000 * 2 ** Math.max(0, attempt - 1));
}
