/**
 * Watches the database for what changes the fleet view and tells the dashboards that
 * listen (src/http/routes/stream.ts). It polls, so it sees the work of every process
 * (ingest, API, watchdog) whichever one it runs in, and only while someone listens:
 *
 * - every `intervalMs`, the devices that spoke and the alarms that changed since the
 *   last look (with an overlap, since a transaction commits after its timestamps);
 *   the tiles of those devices are reloaded and sent to each listener that has a
 *   different one (each listener's tiles are kept, from its snapshot on), the
 *   changed alarms to all;
 * - every `fullEveryMs`, the whole fleet, since time alone changes a status (a device
 *   falls silent) and moves the sparkline window.
 *
 * `snapshot()` gives the whole fleet to a new listener, shared by listeners who ask
 * within `snapshotMs` of each other. `warm()` (at API start) reads the sparklines'
 * past half hours in the background; a listener that comes before they are read gets
 * the current half hour at once, and every tile again once they are.
 */
import type { AlarmRow } from '../alarms/alarmStore.js';
import { ALARM_COLUMNS } from '../alarms/alarmStore.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import { loadFleet, type Fleet, type FleetTile } from './fleet.js';
import { SparkCache, sparkWindow } from './sparkCache.js';

export type FleetEvent =
  | {
      type: 'tiles';
      at: Date;
      spark_from: Date;
      /** False while the sparklines hold only the current half hour. */
      spark_complete: boolean;
      tiles: FleetTile[];
    }
  | { type: 'alarms'; alarms: AlarmRow[] };

export type FleetListener = (event: FleetEvent) => void;

export interface FleetWatchOptions {
  /** Milliseconds between two looks, default 1000. */
  intervalMs?: number;
  /** Milliseconds between two reloads of the whole fleet, default 30,000. */
  fullEveryMs?: number;
  /** Milliseconds a snapshot is shared, default 5,000. */
  snapshotMs?: number;
}

/** Seconds looked back before the last look: commits land after their timestamps. */
const OVERLAP_S = 10;

interface Listened {
  tiles: Map<string, string>;
  complete: boolean;
}

export class FleetWatch {
  /** Each listener with the tiles it has (JSON text by device), complete or not. */
  private readonly listeners = new Map<FleetListener, Listened>();
  private readonly sentAlarms = new Map<string, string>();
  private readonly intervalMs: number;
  private readonly fullEveryMs: number;
  private readonly snapshotMs: number;
  private timer: NodeJS.Timeout | undefined;
  private since: Date | undefined;
  private lastFull = 0;
  private running: Promise<void> | undefined;
  private cached: { at: number; fleet: Promise<Fleet> } | undefined;
  private closed = false;
  private awaitingPast = false;
  private readonly sparks: SparkCache;

  constructor(
    private readonly pool: Pool,
    private readonly log: Logger,
    opts: FleetWatchOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.fullEveryMs = opts.fullEveryMs ?? 30_000;
    this.snapshotMs = opts.snapshotMs ?? 5000;
    this.sparks = new SparkCache(pool, { log });
  }

  /** Starts reading the sparklines' past half hours, so that no visitor waits for it. */
  warm(): void {
    const { from, open } = sparkWindow(new Date());
    this.sparks.warm(from, open);
  }

  /**
   * The whole fleet, at most `snapshotMs` old: dashboards opened together share one
   * query, and each gets every change after its snapshot from the stream. With
   * `partial`, it does not wait for the sparklines' past (`spark.complete` false):
   * listeners get every tile again when it is read.
   */
  async snapshot(opts: { partial?: boolean } = {}): Promise<Fleet> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at >= this.snapshotMs) {
      const fleet = loadFleet(this.pool, { sparks: this.sparks, partial: true });
      this.cached = { at: now, fleet };
      fleet.then(
        (f) => this.untilComplete(f),
        () => {
          if (this.cached?.fleet === fleet) this.cached = undefined;
        },
      );
    }
    const fleet = await this.cached.fleet;
    if (fleet.spark.complete || opts.partial === true) return fleet;
    return loadFleet(this.pool, { sparks: this.sparks });
  }

  /**
   * After a load without the sparklines' past: once it is read, a partial snapshot is
   * shared no more, and the next look reloads every tile (each listener gets those
   * that changed). A failed read is tried again at that look, at most once a tick.
   */
  private untilComplete(fleet: Fleet): void {
    if (fleet.spark.complete || this.awaitingPast) return;
    this.awaitingPast = true;
    void this.sparks.idle().then(() => {
      this.awaitingPast = false;
      const shared = this.cached?.fleet;
      void shared?.then(
        (f) => {
          if (!f.spark.complete && this.cached?.fleet === shared) this.cached = undefined;
        },
        () => undefined,
      );
      this.lastFull = 0;
      // Read: the listeners get it now. Failed: the next tick tries again.
      if (this.timer && this.sparks.holds(sparkWindow(new Date()).open)) void this.tick();
    });
  }

  /**
   * Calls `fn` with every change after `fleet` (the snapshot the listener started
   * from); returns the function that stops it.
   */
  subscribe(fleet: Fleet, fn: FleetListener): () => void {
    const tiles = new Map(fleet.devices.map((t) => [t.device_id, JSON.stringify(t)]));
    // Look again from the snapshot's time on: what changed since reaches this listener.
    const since = new Date(fleet.at.getTime() - OVERLAP_S * 1000);
    if (this.since === undefined || since < this.since) this.since = since;
    this.listeners.set(fn, { tiles, complete: fleet.spark.complete });
    if (!this.timer && !this.closed) {
      this.timer = setInterval(() => void this.tick(), this.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.stop();
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.stop();
    await this.running;
    await this.sparks.idle();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.since = undefined;
    this.lastFull = Date.now();
    this.sentAlarms.clear();
  }

  private tick(): Promise<void> {
    // One look at a time: a slow database skips ticks instead of piling them up.
    this.running ??= this.look()
      .catch((err: Error) => this.log.warn({ err: err.message }, 'fleet watch failed'))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async look(): Promise<void> {
    const { rows } = await this.pool.query<{ now: Date }>('select now() as now');
    const dbNow = rows[0]!.now;
    const since = this.since ?? dbNow;
    this.since = new Date(dbNow.getTime() - OVERLAP_S * 1000);
    const alarms = await this.changedAlarms(since);
    const full = Date.now() - this.lastFull >= this.fullEveryMs;
    const ids = full ? undefined : await this.changedDevices(since, alarms);
    if (ids?.length === 0 && alarms.length === 0) return;
    if (full) this.lastFull = Date.now();
    const fleet =
      ids === undefined || ids.length > 0
        ? await loadFleet(this.pool, {
            sparks: this.sparks,
            partial: true,
            ...(ids ? { only: ids } : {}),
          })
        : undefined;
    if (fleet) {
      this.untilComplete(fleet);
      this.send(fleet);
    }
    if (alarms.length > 0) {
      for (const fn of this.listeners.keys()) this.call(fn, { type: 'alarms', alarms });
    }
  }

  /** To each listener, the tiles of `fleet` that differ from those it has. */
  private send(fleet: Fleet): void {
    const texts = fleet.devices.map((t) => [t, JSON.stringify(t)] as const);
    const complete = fleet.spark.complete;
    for (const [fn, has] of this.listeners) {
      const tiles = texts.filter(([t, text]) => has.tiles.get(t.device_id) !== text);
      if (tiles.length === 0 && has.complete === complete) continue;
      for (const [t, text] of tiles) has.tiles.set(t.device_id, text);
      has.complete = complete;
      this.call(fn, {
        type: 'tiles',
        at: fleet.at,
        spark_from: fleet.spark.from,
        spark_complete: has.complete,
        tiles: tiles.map(([t]) => t),
      });
    }
  }

  private async changedAlarms(since: Date): Promise<AlarmRow[]> {
    const { rows } = await this.pool.query<AlarmRow>(
      `select ${ALARM_COLUMNS} from alarm
       where greatest(raised_at, acknowledged_at, cleared_at) > $1
       order by id limit 500`,
      [since],
    );
    return rows.filter((a) => {
      const key = `${a.state}|${a.acknowledged_at?.toISOString() ?? ''}`;
      if (this.sentAlarms.get(a.id) === key) return false;
      this.sentAlarms.set(a.id, key);
      return true;
    });
  }

  private async changedDevices(since: Date, alarms: AlarmRow[]): Promise<string[]> {
    const { rows } = await this.pool.query<{ device_id: string }>(
      'select device_id from device where last_seen_at > $1',
      [since],
    );
    const ids = new Set(rows.map((r) => r.device_id));
    for (const a of alarms) if (a.device_id !== null) ids.add(a.device_id);
    return [...ids];
  }

  private call(fn: FleetListener, event: FleetEvent): void {
    try {
      fn(event);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'fleet listener failed');
    }
  }
}
