/**
 * The watchdog: on a timer, whether or not anything arrives, it records a heartbeat,
 * raises an operator alarm for a gap in monitoring or a failing ingest, and raises
 * offline alarms for devices that went silent (see outage.ts and offline.ts). Its
 * state is in PostgreSQL, so several processes may run it and a restart loses
 * nothing; alarms are raised once whoever finds them first.
 */
import { transaction, type Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import type { AlarmConfig } from './config.js';
import type { AlarmNotifier } from './notifier.js';
import { checkOffline } from './offline.js';
import {
  checkGap,
  clearOperator,
  heartbeat,
  raiseOperator,
  type Change,
} from './outage.js';
import { formatTime } from './summary.js';

/** Says why ingest is failing, or null when it is healthy. */
export type IngestProbe = () => Promise<string | null>;

export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private ingestFailingSince: Date | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly notifier: AlarmNotifier,
    private readonly config: AlarmConfig,
    private readonly log: Logger,
    /** This process's ingest, when it runs one. */
    private readonly ingestProbe?: IngestProbe,
  ) {}

  /** Ticks now, then every `watchdogSeconds`; a tick never overlaps the previous one. */
  start(): void {
    const run = (): void => {
      this.ticking = this.ticking
        .then(() => this.tick())
        .catch((err: Error) =>
          this.log.warn({ err: err.message }, 'watchdog tick failed'),
        );
    };
    run();
    this.timer = setInterval(run, this.config.watchdogSeconds * 1000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
  }

  /** One check; `now` is the server time (tests pass their own). */
  async tick(now = new Date()): Promise<void> {
    const problem = this.ingestProbe ? await this.ingestProbe() : null;
    const changes = await transaction(this.pool, async (c) => {
      const previous = await heartbeat(c, now);
      const gap = await checkGap(c, previous, now, this.outageMs());
      const out: Change[] = [
        ...gap.changes,
        ...(await this.checkIngest(c, problem, now)),
      ];
      if (!gap.gap && problem === null) {
        out.push(...(await clearOperator(c, 'monitoring_gap', now)));
      }
      out.push(...(await checkOffline(c, now, this.config.fleetMinDevices)));
      return out;
    });
    for (const ch of changes) {
      this.log.info(
        { alarmId: ch.row.id, kind: ch.row.kind, deviceId: ch.row.device_id },
        `alarm ${ch.type}`,
      );
      this.notifier.emitRow(ch.type, ch.row);
    }
  }

  private outageMs(): number {
    return this.config.outageAfterSeconds * 1000;
  }

  private async checkIngest(
    c: Parameters<typeof heartbeat>[0],
    problem: string | null,
    now: Date,
  ): Promise<Change[]> {
    if (problem === null) {
      this.ingestFailingSince = undefined;
      return clearOperator(c, 'ingest_outage', now);
    }
    this.ingestFailingSince ??= now;
    const since = this.ingestFailingSince;
    if (now.getTime() - since.getTime() < this.outageMs()) return [];
    const summary = `Ingest failing since ${formatTime(since.getTime(), 'UTC')}: ${problem}`;
    return raiseOperator(c, 'ingest_outage', since, summary, { problem });
  }
}
