/**
 * Batches decoded messages into commits and acknowledges them after each commit.
 *
 * Messages are decoded as they arrive and wait in `pending`. One commit runs at a
 * time: it takes up to `batchSize` messages (or what arrived within `lingerMs`),
 * stores them in one transaction, and only then acknowledges them, in order. While
 * a commit runs the next batch fills. When more than `maxPending` messages wait (the
 * database is slower than the broker, or down), the consumer stops reading and the
 * broker holds the rest; nothing is buffered without limit.
 *
 * A commit that fails for a transient reason (connection lost, server shutting down)
 * is retried with backoff until it succeeds: nothing is acknowledged meanwhile. A
 * commit that PostgreSQL rejects for its data is retried message by message, and a
 * message that still fails alone is quarantined with STORAGE_REJECTED.
 */
import { EventEmitter } from 'node:events';
import type { IngestConfig } from '../config/config.js';
import { isTransient } from '../db/errors.js';
import { storeBatch, type BatchResult } from '../db/ingestBatch.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Delivery } from '../mqtt/consumer.js';
import type { DecodedMessage, Decoder } from './decoder.js';
import { Quarantine } from './reasons.js';

/** What the pipeline needs of the consumer: acknowledgements and flow control. */
export interface Acknowledger {
  ack(delivery: Delivery): void;
  pause(): void;
  resume(): void;
}

interface Pending {
  delivery: Delivery;
  decoded: DecodedMessage;
}

export interface PipelineStatus {
  pending: number;
  committing: boolean;
  /** Set while commits fail; cleared by the next success. */
  lastError?: { message: string; since: string };
}

const MAX_RETRY_MS = 10_000;

export class IngestPipeline extends EventEmitter<{ stored: [BatchResult] }> {
  private pending: Pending[] = [];
  private committing = false;
  private closing = false;
  private pausedByUs = false;
  private linger: NodeJS.Timeout | undefined;
  private failingSince: Date | undefined;
  private lastError: string | undefined;
  private idle: Promise<void> = Promise.resolve();

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
    const decoded = this.decoder.decode(delivery);
    this.pending.push({ delivery, decoded });
    this.metrics.ingestPending.set(this.pending.length);
    if (this.pending.length >= this.config.maxPending && !this.pausedByUs) {
      this.pausedByUs = true;
      this.consumer.pause();
      this.log.debug({ pending: this.pending.length }, 'ingest paused: too many pending');
    }
    this.schedule();
  }

  status(): PipelineStatus {
    const s: PipelineStatus = {
      pending: this.pending.length,
      committing: this.committing,
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
    await this.idle;
    if (this.pending.length > 0 && !this.failingSince) {
      this.idle = this.drain();
      await this.idle;
    }
  }

  private schedule(): void {
    if (this.committing || this.closing) return;
    if (this.pending.length >= this.config.batchSize || this.config.lingerMs === 0) {
      clearTimeout(this.linger);
      this.linger = undefined;
      this.idle = this.drain();
    } else if (!this.linger) {
      this.linger = setTimeout(() => {
        this.linger = undefined;
        if (!this.committing) this.idle = this.drain();
      }, this.config.lingerMs);
    }
  }

  private async drain(): Promise<void> {
    this.committing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.slice(0, this.config.batchSize);
        const ok = await this.commitWithRetry(batch);
        if (!ok) return;
        this.pending.splice(0, batch.length);
        this.metrics.ingestPending.set(this.pending.length);
        for (const p of batch) this.consumer.ack(p.delivery);
        if (this.pausedByUs && this.pending.length < this.config.maxPending / 2) {
          this.pausedByUs = false;
          this.consumer.resume();
        }
        if (this.pending.length < this.config.batchSize && !this.closing) break;
      }
    } finally {
      this.committing = false;
    }
    if (this.pending.length > 0) this.schedule();
  }

  /** Commits until it succeeds; false only when closing while the database is down. */
  private async commitWithRetry(batch: Pending[]): Promise<boolean> {
    for (let attempt = 0; ; attempt += 1) {
      const err = await this.tryCommit(batch);
      if (err === undefined) {
        if (this.failingSince)
          this.log.info({ attempts: attempt }, 'ingest commits resumed');
        this.failingSince = undefined;
        this.lastError = undefined;
        return true;
      }
      this.failingSince ??= new Date();
      this.lastError = err.message;
      if (this.closing) return false;
      const wait = Math.min(MAX_RETRY_MS, 250 * 2 ** Math.min(attempt, 6));
      this.log.warn(
        { err: this.lastError, retryInMs: wait, messages: batch.length },
        'ingest commit failed',
      );
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** One attempt; returns the error to retry on, or undefined when stored. */
  private async tryCommit(batch: Pending[]): Promise<Error | undefined> {
    try {
      await this.commit(batch);
      return undefined;
    } catch (err) {
      this.metrics.commitFailures.inc();
      if (isTransient(err)) return err as Error;
    }
    try {
      await this.commitOneByOne(batch);
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    const started = process.hrtime.bigint();
    const result = await storeBatch(
      this.pool,
      batch.map((p) => p.decoded),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.record(batch, result, seconds);
    try {
      this.emit('stored', result);
    } catch (err) {
      // A later stage failing must not turn a committed batch into a retried one.
      this.log.error({ err: (err as Error).message }, 'stored-batch listener failed');
    }
  }

  private async commitOneByOne(batch: Pending[]): Promise<void> {
    for (const p of batch) {
      try {
        await this.commit([p]);
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
        await this.commit([p]);
      }
    }
  }

  private record(batch: Pending[], result: BatchResult, seconds: number): void {
    const m = this.metrics;
    m.batchCommitSeconds.observe(seconds);
    m.batchSize.observe(batch.length);
    m.readingsStored.inc(result.readingsStored);
    m.readingsDuplicate.inc(result.readingsDuplicate);
    result.outcomes.forEach((o, i) => {
      if (o === 'stored') m.messagesStored.inc();
      else if (o === 'duplicate') m.messagesDuplicate.inc();
      else m.messagesQuarantined.inc({ reason: batch[i]!.decoded.quarantine!.reason });
    });
    for (const r of result.stored)
      for (const f of r.flags) m.readingsFlagged.inc({ flag: f });
    const oldest = batch[0]!.delivery.receivedAt.getTime();
    m.ingestLagSeconds.set((Date.now() - oldest) / 1000);
  }
}
