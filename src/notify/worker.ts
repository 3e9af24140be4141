/**
 * The delivery worker: claims due deliveries from the outbox, sends each through its
 * channel (several at once, each bounded by the attempt timeout), records every
 * attempt, and escalates alarms whose time has come.
 *
 * It runs a tick when woken (a send finished, a digest was queued), when a retry it
 * scheduled falls due, and every `pollMs` otherwise (to see work queued by other
 * processes). A tick never overlaps another: a wake during a tick makes the next one
 * start straight after. Deliveries queued in this process are handed over by id as
 * soon as they are committed and claimed at once, beside the ticks; the claim in
 * PostgreSQL still decides, so a delivery a crash leaves behind is found by a tick.
 */
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import { verdictOf } from './backoff.js';
import type { Channel, ChannelKind, SendResult } from './channels/channel.js';
import { HOW_TO_CONFIGURE } from './channels/index.js';
import type { NotifyConfig } from './config.js';
import {
  claimDue,
  claimQueued,
  recordAttempt,
  type ClaimedDelivery,
} from './deliveries.js';
import { escalateDue } from './escalation.js';
import type { NotifyMetrics } from './metrics.js';

export interface WorkerDeps {
  pool: Pool;
  channels: Map<ChannelKind, Channel>;
  config: NotifyConfig;
  metrics: NotifyMetrics;
  log: Logger;
}

/** Extra lease beyond the attempt timeout, in milliseconds, for recording the outcome. */
const LEASE_MARGIN_MS = 30_000;

export class DeliveryWorker {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private closed = false;
  private nextDueAt = Infinity;
  private lastEscalation = 0;
  /** Sends the claims under way may start: counted against the concurrency with inFlight. */
  private claiming = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly claims = new Set<Promise<void>>();

  constructor(private readonly deps: WorkerDeps) {}

  start(): void {
    this.schedule(0);
  }

  /** Look for work now (or right after the tick in progress). */
  wake(): void {
    if (this.closed) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  /** Claims and sends these just-queued deliveries now, as far as the concurrency allows. */
  take(ids: readonly string[]): void {
    if (this.closed || ids.length === 0) return;
    const n = Math.min(ids.length, this.free());
    if (n < ids.length) this.wake();
    if (n === 0) return;
    const { pool, log } = this.deps;
    this.claiming += n;
    const claim = claimQueued(pool, ids.slice(0, n), this.leaseMs)
      .then(
        (ds) => {
          for (const d of ds) this.track(this.deliver(d));
        },
        // Left pending, they are claimed by a tick once PostgreSQL answers again.
        (err: Error) =>
          log.warn({ err: err.message }, 'could not claim queued deliveries'),
      )
      .finally(() => {
        this.claiming -= n;
        this.claims.delete(claim);
      });
    this.claims.add(claim);
  }

  /** How long a claim holds a delivery: the attempt timeout and a margin to record it. */
  get leaseMs(): number {
    return this.deps.config.timeoutMs + LEASE_MARGIN_MS;
  }

  /**
   * Sets aside up to `n` of the free sends for deliveries that the caller claims in
   * its own transaction; returns how many. Each reservation ends with handOver().
   */
  reserve(n: number): number {
    const k = this.closed ? 0 : Math.max(0, Math.min(n, this.free()));
    this.claiming += k;
    return k;
  }

  /**
   * Sends deliveries claimed in the caller's (committed) transaction, and gives back
   * the `reserved` sends of reserve(); with no deliveries, only gives them back.
   */
  handOver(claimed: readonly ClaimedDelivery[], reserved: number): void {
    this.claiming -= reserved;
    if (this.closed && claimed.length > 0) {
      // The claim committed after the stop (the hub's transaction outlived the wait
      // of close()): not sent now, with the pool going away; the next worker sends
      // them once their claim runs out.
      this.deps.log.warn(
        { deliveries: claimed.map((d) => d.id), retryAfterMs: this.leaseMs },
        'deliveries claimed while stopping are left to the next worker',
      );
      return;
    }
    for (const d of claimed) this.track(this.deliver(d));
  }

  /** Stops claiming and waits for the sends in progress (each bounded by the attempt timeout). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.claims]);
    await Promise.allSettled([...this.inFlight]);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    this.running = true;
    this.again = false;
    const { pool, config, log } = this.deps;
    try {
      const free = this.free();
      if (free > 0) {
        this.claiming += free;
        const claimed = await claimDue(pool, free, this.leaseMs).finally(() => {
          this.claiming -= free;
        });
        for (const d of claimed) this.track(this.deliver(d));
        if (claimed.length === free) this.again = true;
      }
      // Escalation runs on the poll's rhythm, not on every wake: a wake is a delivery
      // waiting to go out, and should not queue behind it.
      if (Date.now() - this.lastEscalation >= config.pollMs) {
        this.lastEscalation = Date.now();
        if ((await escalateDue(pool, config)) > 0) this.again = true;
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'notification worker tick failed');
    } finally {
      this.running = false;
      this.schedule(this.again ? 0 : this.untilNext());
    }
  }

  private free(): number {
    return this.deps.config.concurrency - this.inFlight.size - this.claiming;
  }

  private untilNext(): number {
    const due = this.nextDueAt - Date.now();
    this.nextDueAt = Infinity;
    return Math.max(0, Math.min(this.deps.config.pollMs, due));
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => {
      this.inFlight.delete(p);
      this.wake();
    });
  }

  private async deliver(d: ClaimedDelivery): Promise<void> {
    const { pool, config, metrics, log } = this.deps;
    const startedAt = new Date();
    const t0 = performance.now();
    const result = await this.send(d);
    const durationMs = performance.now() - t0;
    const verdict = verdictOf(d, result, config.retry, new Date());
    metrics.attempts.inc({ kind: d.kind, outcome: result.outcome });
    metrics.attemptSeconds.observe({ kind: d.kind }, durationMs / 1000);
    const fields = {
      delivery: d.id,
      kind: d.kind,
      attempt: d.attempt,
      code: result.responseCode,
    };
    if (verdict.status === 'sent') log.info(fields, 'notification sent');
    else
      log.warn(
        { ...fields, status: verdict.status, err: result.error },
        'notification attempt failed',
      );
    if (verdict.nextAttemptAt) {
      this.nextDueAt = Math.min(this.nextDueAt, verdict.nextAttemptAt.getTime());
    }
    try {
      await recordAttempt(pool, d, { startedAt, durationMs }, result, verdict);
    } catch (err) {
      // The lease runs out and the delivery is tried again: sent twice rather than never.
      log.error(
        { delivery: d.id, err: (err as Error).message },
        'could not record an attempt',
      );
    }
  }

  private async send(d: ClaimedDelivery): Promise<SendResult> {
    if (!d.live)
      return {
        outcome: 'failed',
        error: 'the channel or its recipient was removed or disabled',
      };
    const channel = this.deps.channels.get(d.kind);
    if (!channel) {
      return {
        outcome: 'failed',
        error: `${d.kind} is not configured on this server: ${HOW_TO_CONFIGURE[d.kind]}`,
      };
    }
    const signal = AbortSignal.timeout(this.deps.config.timeoutMs);
    try {
      return await channel.send(d.target, {
        deliveryId: d.id,
        attempt: d.attempt,
        message: d.message,
        signal,
      });
    } catch (err) {
      return {
        outcome: 'retry',
        error: `${d.kind} channel failed: ${(err as Error).message}`,
      };
    }
  }
}
