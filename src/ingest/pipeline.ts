/**
 * Batches decoded messages into commits and acknowledges them after each commit.
 *
 * Messages are decoded as they arrive and wait in `pending`. A commit takes up to
 * `batchSize` readings (or what arrived within `lingerMs`) and stores them in one
 * transaction. Limits count readings, not messages: a message may carry thousands
 * (a device flushing its buffer), and one that carries nothing (a status message, a
 * quarantined payload) counts as one. Up to COMMITS_IN_FLIGHT commits run at once,
 * each on its own connection, so that PostgreSQL works on one batch while this
 * process prepares the next. Commits may finish out of order; they are *finished* in
 * receive order: a batch is acknowledged, and announced to later stages (`stored`), only once it and
 * every batch before it are committed. When more readings are held than `maxPending`
 * or than MAX_HELD_BATCHES batches (the database is slower than the broker, or
 * down), or a later stage says it is behind (`holdWhile`), the consumer stops
 * reading and the broker holds the rest; nothing is buffered without limit.
 *
 * A commit that fails for a transient reason (connection lost, server shutting down)
 * is retried with backoff until it succeeds: nothing is acknowledged meanwhile. A
 * commit that PostgreSQL rejects for its data is retried message by message, and a
 * message that still fails alone is quarantined with STORAGE_REJECTED.
 */
import { EventEmitter } from 'node:events';
import type { IngestConfig } from '../config/config.js';
import { isTransient } from '../db/errors.js';
import { mergeResults, storeBatch, type BatchResult } from '../db/ingestBatch.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Delivery } from '../mqtt/consumer.js';
import type { DecodedMessage, Decoder } from './decoder.js';
import { recordCommit } from './commitMetrics.js';
import { Quarantine } from './reasons.js';

/** What the pipeline needs of the consumer: acknowledgements and flow control. */
export interface Acknowledger {
  /** Marks deliveries committed; their PUBACKs leave in receive order. */
  ackAll(deliveries: readonly Delivery[]): void;
  pause(): void;
  resume(): void;
}

interface Pending {
  delivery: Delivery;
  decoded: DecodedMessage;
}

/** What a message weighs against the limits: its readings, and at least one. */
const weightOf = (p: Pending): number => Math.max(1, p.decoded.readings.length);

/** A batch handed to PostgreSQL, and what became of it. */
interface Commit {
  batch: Pending[];
  /** Its readings (weightOf). */
  weight: number;
  /** Set once its commit is over: the result, or null when it gave up (closing). */
  outcome: BatchResult | null | undefined;
}

export interface PipelineStatus {
  pending: number;
  committing: boolean;
  /** Set while commits fail; cleared by the next success. */
  lastError?: { message: string; since: string };
}

/**
 * Commits running at once. Two keep PostgreSQL and this process both busy; more only
 * queue on the same rows (the device counters) and on the same two cores.
 */
export const COMMITS_IN_FLIGHT = 2;
/**
 * Batches held at most: those committing and two more waiting. More waiting messages
 * cannot make the commits faster; they only take memory (and a broker that sends
 * beyond its Receive Maximum would fill it).
 */
const MAX_HELD_BATCHES = COMMITS_IN_FLIGHT + 2;
const MAX_RETRY_MS = 10_000;
/** Milliseconds between looks at a later stage that holds the stream. */
const HOLD_CHECK_MS = 100;

export class IngestPipeline extends EventEmitter<{ stored: [BatchResult] }> {
  private pending: Pending[] = [];
  /** The weight (weightOf) of `pending`, and of the messages committing. */
  private pendingWeight = 0;
  private inFlightWeight = 0;
  /** Commits in receive order; the head is the oldest not yet finished. */
  private readonly inFlight: Commit[] = [];
  private inFlightMessages = 0;
  private closing = false;
  private pausedByUs = false;
  private linger: NodeJS.Timeout | undefined;
  private failingSince: Date | undefined;
  private lastError: string | undefined;
  private whenSettled: Array<() => void> = [];
  private readonly holds: Array<() => boolean> = [];
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly decoder: Decoder,
    private readonly consumer: Acknowledger,
    private readonly config: IngestConfig,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    super();
  }

  push(delivery: Delivery): void {
    this.metrics.messagesReceived.inc();
    const p = { delivery, decoded: this.decoder.decode(delivery) };
    this.pending.push(p);
    this.pendingWeight += weightOf(p);
    if (this.heldWeight() >= this.maxHeld()) this.pauseReading('too many pending');
    this.schedule();
  }

  /**
   * Lets a later stage hold the stream while `busy()` says so (a queue of its own
   * grown too long): the consumer stops reading, commits and acknowledgements of what
   * is in hand go on, and reading resumes once no stage is busy.
   */
  holdWhile(busy: () => boolean): void {
    this.holds.push(busy);
  }

  status(): PipelineStatus {
    const s: PipelineStatus = {
      pending: this.held(),
      committing: this.inFlight.length > 0,
    };
    if (this.failingSince && this.lastError) {
      s.lastError = { message: this.lastError, since: this.failingSince.toISOString() };
    }
    return s;
  }

  /** Commits what is pending (one last try each), then stops. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.linger);
    clearTimeout(this.holdTimer);
    await this.settled();
    while (this.pending.length > 0 && !this.failingSince) {
      while (this.pending.length > 0 && this.inFlight.length < COMMITS_IN_FLIGHT)
        this.startCommit();
      await this.settled();
    }
  }

  private maxHeld(): number {
    return Math.min(this.config.maxPending, MAX_HELD_BATCHES * this.config.batchSize);
  }

  /** Messages received and not yet committed. */
  private held(): number {
    return this.pending.length + this.inFlightMessages;
  }

  /** Readings (weightOf) received and not yet committed: what the limits count. */
  private heldWeight(): number {
    return this.pendingWeight + this.inFlightWeight;
  }

  private settled(): Promise<void> {
    if (this.inFlight.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.whenSettled.push(resolve));
  }

  private schedule(): void {
    if (this.closing) return;
    const { batchSize, lingerMs } = this.config;
    while (this.inFlight.length < COMMITS_IN_FLIGHT && this.pendingWeight >= batchSize)
      this.startCommit();
    if (this.pending.length === 0 || this.inFlight.length >= COMMITS_IN_FLIGHT) return;
    if (lingerMs === 0) {
      this.startCommit();
    } else {
      this.linger ??= setTimeout(() => {
        this.linger = undefined;
        if (this.closing || this.inFlight.length >= COMMITS_IN_FLIGHT) return;
        if (this.pending.length > 0) this.startCommit();
      }, lingerMs);
    }
  }

  private startCommit(): void {
    clearTimeout(this.linger);
    this.linger = undefined;
    // At least one message, however many readings it carries; then up to batchSize.
    let n = 1;
    let weight = weightOf(this.pending[0]!);
    for (; n < this.pending.length; n += 1) {
      const w = weightOf(this.pending[n]!);
      if (weight + w > this.config.batchSize) break;
      weight += w;
    }
    const batch = this.pending.splice(0, n);
    this.pendingWeight -= weight;
    const commit: Commit = { batch, weight, outcome: undefined };
    this.inFlight.push(commit);
    this.inFlightMessages += batch.length;
    this.inFlightWeight += weight;
    void this.run(commit);
  }

  private async run(commit: Commit): Promise<void> {
    try {
      commit.outcome = await this.commitWithRetry(commit.batch);
    } catch (err) {
      // commitWithRetry returns its errors; this is a bug, and the batch stays unacknowledged.
      this.log.error({ err: (err as Error).message }, 'ingest commit crashed');
      commit.outcome = null;
    }
    this.finishInOrder();
  }

  /** Acknowledges and announces every committed batch at the head, in order. */
  private finishInOrder(): void {
    while (this.inFlight.length > 0 && this.inFlight[0]!.outcome !== undefined) {
      const { batch, weight, outcome } = this.inFlight.shift()!;
      this.inFlightMessages -= batch.length;
      this.inFlightWeight -= weight;
      if (!outcome) continue;
      this.consumer.ackAll(batch.map((p) => p.delivery));
      try {
        this.emit('stored', outcome);
      } catch (err) {
        // A later stage failing must not turn a committed batch into a retried one.
        this.log.error({ err: (err as Error).message }, 'stored-batch listener failed');
      }
    }
    this.metrics.ingestPending.set(this.held());
    this.checkFlow();
    if (this.inFlight.length === 0) {
      for (const resolve of this.whenSettled.splice(0)) resolve();
    }
    this.schedule();
  }

  private pauseReading(why: string): void {
    if (this.pausedByUs) return;
    this.pausedByUs = true;
    this.consumer.pause();
    this.log.debug({ pending: this.held(), why }, 'ingest paused');
  }

  /** Pauses for a busy later stage; resumes when the pipeline and every stage have room. */
  private checkFlow(): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    const held = this.holds.some((busy) => busy());
    if (held) this.pauseReading('a later stage is behind');
    if (!this.pausedByUs) return;
    if (!held && this.heldWeight() < this.maxHeld() / 2) {
      this.pausedByUs = false;
      this.consumer.resume();
      return;
    }
    // Nothing else may come to look again: no commit finishes while nothing is read.
    if (held && !this.closing)
      this.holdTimer = setTimeout(() => this.checkFlow(), HOLD_CHECK_MS);
  }

  /** Commits until it succeeds; null only when closing while the database is down. */
  private async commitWithRetry(batch: Pending[]): Promise<BatchResult | null> {
    for (let attempt = 0; ; attempt += 1) {
      const r = await this.tryCommit(batch);
      if (!(r instanceof Error)) {
        if (this.failingSince)
          this.log.info({ attempts: attempt }, 'ingest commits resumed');
        this.failingSince = undefined;
        this.lastError = undefined;
        return r;
      }
      this.failingSince ??= new Date();
      this.lastError = r.message;
      if (this.closing) return null;
      const wait = Math.min(MAX_RETRY_MS, 250 * 2 ** Math.min(attempt, 6));
      this.log.warn(
        { err: this.lastError, retryInMs: wait, messages: batch.length },
        'ingest commit failed',
      );
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** One attempt; returns what was stored, or the error to retry on. */
  private async tryCommit(batch: Pending[]): Promise<BatchResult | Error> {
    try {
      return await this.commit(batch);
    } catch (err) {
      this.metrics.commitFailures.inc();
      if (isTransient(err)) return err as Error;
    }
    try {
      return await this.commitOneByOne(batch);
    } catch (err) {
      return err as Error;
    }
  }

  private async commit(batch: Pending[]): Promise<BatchResult> {
    const started = process.hrtime.bigint();
    const result = await storeBatch(
      this.pool,
      batch.map((p) => p.decoded),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    recordCommit(
      this.metrics,
      batch.map((p) => p.decoded),
      result,
      seconds,
    );
    return result;
  }

  private async commitOneByOne(batch: Pending[]): Promise<BatchResult> {
    const results: BatchResult[] = [];
    for (const p of batch) {
      try {
        results.push(await this.commit([p]));
      } catch (err) {
        if (isTransient(err)) throw err;
        const detail = `PostgreSQL refused the message: ${(err as Error).message}`;
        this.log.error(
          { topic: p.decoded.message.topic, err: detail },
          'message quarantined',
        );
        p.decoded = {
          ...p.decoded,
          readings: [],
          quarantine: new Quarantine('STORAGE_REJECTED', detail),
        };
        results.push(await this.commit([p]));
      }
    }
    return mergeResults(results);
  }
}
