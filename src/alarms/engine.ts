/**
 * The rule engine: evaluates every stored reading against its device's profile and
 * raises and clears alarms.
 *
 * Ingest hands over each committed batch (`onStored`) and goes on at once; the
 * readings wait in a queue per device (readingQueue.ts). Two lanes work through it,
 * each one turn at a time, each turn one transaction (turn.ts):
 *
 * - the main lane takes the devices in the order their readings came, up to
 *   MAX_READINGS a turn, at most a turn every MAIN_EVERY_MS while it keeps up;
 * - the urgent lane takes, at once, the devices that have a reading beyond a raise
 *   level of their profile (urgency.ts), up to URGENT_READINGS a turn, so that the
 *   reading that raises an alarm does not wait behind a backlog of readings in range.
 *
 * A device is in one turn at a time, and a turn takes all its waiting readings, so
 * each device's readings are evaluated in order of time, as with a single lane. Only
 * after a turn's commit are its alarm events handed to the listeners. A transient
 * database failure retries the same turn, so nothing is skipped while the database
 * comes back; any other failure (a fault of ours) skips the turn and says so in the
 * log. At start, readings stored but never evaluated (a crash between ingest's commit
 * and ours) are evaluated first.
 */
import type { BatchResult } from '../db/ingestBatch.js';
import { isTransient } from '../db/errors.js';
import { transaction, type Pool } from '../db/pool.js';
import type { Reading } from '../ingest/reading.js';
import type { Logger } from '../log.js';
import { findUnevaluated } from './catchUp.js';
import type { AlarmConfig } from './config.js';
import type { AlarmMetrics } from './metrics.js';
import type { AlarmNotifier } from './notifier.js';
import { listProfiles } from './profileStore.js';
import { ReadingQueue, type Lane, type Taken } from './readingQueue.js';
import { evaluateTurn, type EngineReading, type TurnResult } from './turn.js';
import { Urgency } from './urgency.js';

export type { EngineReading } from './turn.js';

/**
 * Most readings in one turn of the main lane. A turn loads and writes back the state
 * of every device it concerns, so a turn holding more readings per device costs less
 * per reading; the urgent lane keeps alarms from waiting for a large turn.
 */
const MAX_READINGS = 20_000;
/**
 * Milliseconds between the starts of two turns of the main lane while it keeps up.
 * A turn writes back the state of each of its devices, so a lane that started a turn
 * for every few readings would write a device's state several times a second; this
 * lets readings gather instead. Alarms do not wait for it: the urgent lane is not held.
 */
const MAIN_EVERY_MS = 500;
/** Most readings in one turn of the urgent lane. */
const URGENT_READINGS = 2_000;
const MAX_RETRY_MS = 10_000;

export class AlarmEngine {
  private readonly queue = new ReadingQueue();
  private readonly urgency = new Urgency();
  private readonly lanes: Record<Lane, Promise<void> | undefined> = {
    main: undefined,
    urgent: undefined,
  };
  private closing = false;

  constructor(
    private readonly pool: Pool,
    private readonly notifier: AlarmNotifier,
    private readonly config: AlarmConfig,
    private readonly log: Logger,
    private readonly metrics?: AlarmMetrics,
  ) {}

  /** Learns the profiles, then evaluates what was stored but not evaluated before the last stop. */
  async start(): Promise<void> {
    this.urgency.learnProfiles(await listProfiles(this.pool));
    const missed = await findUnevaluated(this.pool);
    if (missed.length > 0)
      this.log.info({ readings: missed.length }, 'evaluating missed readings');
    for (let i = 0; i < missed.length; i += MAX_READINGS) {
      await this.evaluate(missed.slice(i, i + MAX_READINGS));
    }
  }

  /** Readings taken from ingest and not yet evaluated. */
  get backlog(): number {
    return this.queue.size;
  }

  /** Takes the readings ingest has just committed; returns at once. */
  onStored(result: BatchResult): void {
    if (this.closing || result.stored.length === 0) return;
    for (const stored of result.stored) {
      const r = fromReading(stored);
      this.queue.push(r, this.urgency.isUrgent(r.deviceId, r));
    }
    this.metrics?.queued.set(this.queue.size);
    this.kick();
  }

  /** Starts each lane that has work and is not running. */
  private kick(): void {
    for (const lane of ['urgent', 'main'] as const) {
      if (this.lanes[lane] || !this.queue.hasWork(lane)) continue;
      this.lanes[lane] = this.run(lane).finally(() => {
        this.lanes[lane] = undefined;
        // Readings queued, or devices set free, since the lane's last look.
        this.kick();
      });
    }
  }

  /** Resolves when everything queued so far is evaluated. */
  async idle(): Promise<void> {
    for (;;) {
      const running = Object.values(this.lanes).filter(
        (p): p is Promise<void> => p !== undefined,
      );
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  /** Evaluates what is queued (one last try), then stops taking readings. */
  async close(): Promise<void> {
    this.closing = true;
    await this.idle();
  }

  /** Evaluates readings now, in one transaction; used at start and by tests. */
  async evaluate(readings: readonly EngineReading[]): Promise<void> {
    const result = await transaction(this.pool, (c) =>
      evaluateTurn(c, readings, this.config.lateAfterSeconds * 1000),
    );
    this.afterCommit(result);
  }

  private afterCommit({ events, contexts }: TurnResult): void {
    for (const ctx of contexts.values())
      this.urgency.learnDevice(ctx.deviceId, ctx.profile);
    for (const e of events) {
      if (e.type === 'raised')
        this.log.info(
          { deviceId: e.row.device_id, alarmId: e.row.id, kind: e.row.kind },
          'alarm raised',
        );
      this.notifier.emitRow(e.type, e.row, e.summary);
    }
  }

  private async run(lane: Lane): Promise<void> {
    const max = lane === 'urgent' ? URGENT_READINGS : MAX_READINGS;
    for (;;) {
      const started = Date.now();
      const turn = this.queue.take(lane, max);
      if (turn.readings.length === 0) return;
      this.metrics?.queued.set(this.queue.size);
      try {
        await this.evaluateWithRetry(turn);
      } finally {
        this.queue.release(turn);
      }
      if (lane === 'urgent') continue;
      // Devices set free may have urgent readings waiting.
      this.kick();
      const rest = started + MAIN_EVERY_MS - Date.now();
      const gathering = this.queue.hasWork('main') && this.queue.size < max;
      if (rest > 0 && gathering && !this.closing) {
        await new Promise((r) => setTimeout(r, rest));
      }
    }
  }

  /** Evaluates a turn, retrying while the database is away; a fault of ours skips it. */
  private async evaluateWithRetry(turn: Taken): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.evaluate(turn.readings);
        this.metrics?.lagSeconds.observe(
          (Date.now() - oldestReceipt(turn.readings)) / 1000,
        );
        return;
      } catch (err) {
        if (!isTransient(err) || this.closing) {
          this.log.error(
            { err: (err as Error).message, readings: turn.readings.length },
            'alarm evaluation failed; these readings are skipped',
          );
          return;
        }
        const wait = Math.min(MAX_RETRY_MS, 250 * 2 ** Math.min(attempt, 6));
        this.log.warn(
          { err: (err as Error).message, retryInMs: wait },
          'alarm evaluation failed',
        );
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}

function oldestReceipt(readings: readonly EngineReading[]): number {
  return readings.reduce((min, r) => Math.min(min, r.receivedAt), Infinity);
}

export function fromReading(r: Reading): EngineReading {
  return {
    deviceId: r.deviceId,
    sensor: r.sensor,
    time: r.time.getTime(),
    receivedAt: r.receivedAt.getTime(),
    temperatureC: r.temperatureC,
    quality: r.quality,
    flags: r.flags,
    batteryPct: r.batteryPct,
    batteryV: r.batteryV,
  };
}
