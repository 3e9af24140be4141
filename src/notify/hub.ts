/**
 * The notification hub: the rule engine's AlarmListener on one side, the delivery
 * worker on the other.
 *
 * `onAlarmEvent` only appends to an in-memory buffer and returns; a flush records
 * the buffered events in PostgreSQL (one transaction per batch) and hands the
 * deliveries it queued to the worker. So ingest never waits for a channel, nor even
 * for the hub's own insert.
 * When PostgreSQL refuses, the events stay buffered and the flush is retried with
 * backoff; past MAX_BUFFERED the oldest are dropped, counted and logged.
 */
import type { AlarmEvent, AlarmListener } from '../alarms/events.js';
import type { Pool } from '../db/pool.js';
import type { Health, HealthEntry } from '../health.js';
import type { Logger } from '../log.js';
import type { Registry } from 'prom-client';
import type { Channel, ChannelKind } from './channels/channel.js';
import { createChannels } from './channels/index.js';
import type { NotifyConfig } from './config.js';
import { queueTest, recordEvents } from './intake.js';
import { createNotifyMetrics, type NotifyMetrics } from './metrics.js';
import type { Placed } from './rateLimit.js';
import type { RecipientView } from './recipients.js';
import { DeliveryWorker } from './worker.js';

/** Events held in memory while PostgreSQL cannot take them, at most. */
export const MAX_BUFFERED = 10_000;
/**
 * Events recorded in one transaction, at most: small enough that the first notices
 * of a burst are committed (and sent) without waiting for the whole burst.
 */
const BATCH = 50;
/** A due delivery older than this, in seconds, makes /health report the hub failing. */
const OVERDUE_S = 300;

export interface HubDeps {
  pool: Pool;
  config: NotifyConfig;
  log: Logger;
  registry: Registry;
}

export class NotificationHub implements AlarmListener {
  readonly channels: Map<ChannelKind, Channel>;
  private readonly metrics: NotifyMetrics;
  private readonly log: Logger;
  private readonly worker: DeliveryWorker | undefined;
  private buffer: AlarmEvent[] = [];
  private flushing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastError: { message: string; since: string } | undefined;
  private closed = false;

  constructor(private readonly deps: HubDeps) {
    this.log = deps.log.child({ part: 'notify' });
    this.metrics = createNotifyMetrics(deps.registry);
    this.channels = createChannels(deps.config);
    this.worker = deps.config.worker
      ? new DeliveryWorker({
          ...deps,
          channels: this.channels,
          metrics: this.metrics,
          log: this.log,
        })
      : undefined;
  }

  /** Starts the delivery worker (when this process runs one). */
  start(): void {
    this.worker?.start();
    this.log.info(
      { channels: [...this.channels.keys()], worker: this.worker !== undefined },
      'notification hub started',
    );
  }

  /** Takes an alarm event; returns at once and never throws. */
  onAlarmEvent(event: AlarmEvent): void {
    try {
      if (this.buffer.length >= MAX_BUFFERED) {
        const lost = this.buffer.shift();
        this.metrics.eventsDropped.inc();
        this.log.error(
          { alarm: lost?.alarmId, type: lost?.type },
          'notification buffer full: event dropped',
        );
      }
      this.buffer.push(event);
      this.metrics.events.inc({ type: event.type });
      this.metrics.intakeBacklog.set(this.buffer.length);
      if (!this.flushing && !this.retryTimer && !this.closed) {
        // After the caller's code (the other events of the same turn join the buffer
        // meanwhile), not after the event loop's next round of socket reads.
        this.flushing = Promise.resolve().then(() => this.drain());
      }
    } catch (err) {
      this.log.error(
        { err: (err as Error).message },
        'notification hub could not take an event',
      );
    }
  }

  /** Resolves when every event taken so far is recorded (or recording has failed for now). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** Queues a test notice to each live channel of a recipient. */
  async sendTest(recipient: RecipientView): Promise<Placed[]> {
    const placed = await queueTest(this.deps.pool, recipient, this.deps.config);
    this.worker?.take(
      placed.flatMap((p) => (p.deliveryId === null ? [] : [p.deliveryId])),
    );
    if (placed.some((p) => p.placed === 'coalesced')) this.worker?.wake();
    return placed.map((p) => p.placed);
  }

  registerHealth(health: Health): void {
    health.register('notify', () => this.health());
  }

  /** Records what is buffered (for up to 5 s), then stops the worker. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.buffer.length > 0 && !this.flushing) this.flushing = this.drain();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.flush(),
      new Promise((r) => {
        timer = setTimeout(r, 5_000);
      }),
    ]);
    clearTimeout(timer);
    if (this.buffer.length > 0) {
      this.log.error(
        { events: this.buffer.length },
        'stopping with alarm events not recorded',
      );
    }
    await this.worker?.close();
  }

  private async drain(): Promise<void> {
    try {
      while (this.buffer.length > 0) {
        const batch = this.buffer.slice(0, BATCH);
        // The worker's free sends claim what this batch queues in the same
        // transaction: one round trip less between an alarm and its first attempt.
        const room = this.worker?.reserve(BATCH) ?? 0;
        let intake;
        try {
          intake = await recordEvents(this.deps.pool, batch, this.deps.config, {
            claim: { upTo: room, leaseMs: this.worker?.leaseMs ?? 0 },
          });
        } catch (err) {
          this.worker?.handOver([], room);
          throw err;
        }
        const { counts, queued, claimed } = intake;
        this.worker?.handOver(claimed, room);
        this.worker?.take(queued);
        this.buffer = this.buffer.slice(batch.length);
        this.metrics.intakeBacklog.set(this.buffer.length);
        for (const [placed, n] of Object.entries(counts))
          this.metrics.notices.inc({ placed }, n);
        this.failures = 0;
        this.lastError = undefined;
        // A digest started by this batch may be due now: the next tick finds it.
        if (counts.coalesced > 0) this.worker?.wake();
      }
    } catch (err) {
      this.retryLater(err as Error);
    } finally {
      this.flushing = undefined;
    }
  }

  private retryLater(err: Error): void {
    this.failures += 1;
    this.lastError ??= { message: err.message, since: new Date().toISOString() };
    const wait = Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
    this.log.warn(
      { err: err.message, events: this.buffer.length, retryInMs: wait },
      'could not record alarm events',
    );
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.flushing) this.flushing = this.drain();
    }, wait);
  }

  private async health(): Promise<HealthEntry> {
    const channels = [...this.channels.keys()];
    if (this.lastError) {
      return {
        status: 'failing',
        detail: `alarm events not recorded since ${this.lastError.since}: ${this.lastError.message}`,
        buffered: this.buffer.length,
        channels,
      };
    }
    const { rows } = await this.deps.pool.query<{ due: number; oldest_s: number | null }>(
      `select count(*)::int as due,
              extract(epoch from now() - min(next_attempt_at))::float8 as oldest_s
       from notify_delivery where status in ('pending', 'sending') and next_attempt_at <= now()`,
    );
    const { due, oldest_s: oldest } = rows[0] ?? { due: 0, oldest_s: null };
    if (oldest !== null && oldest > OVERDUE_S) {
      return {
        status: 'failing',
        detail: `${due} deliveries overdue, the oldest by ${Math.round(oldest)} s: is a delivery worker running (NOTIFY_WORKER)?`,
        channels,
      };
    }
    return { status: 'ok', due, channels };
  }
}
