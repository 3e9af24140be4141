/**
 * The sparklines' past half hours, kept in memory for the whole fleet so that a fleet
 * load reads only the current half hour. A closed half hour takes no more readings,
 * except late ones (a device's backlog after an outage).
 *
 * - The first read covers the whole window: every device's past day, about a second
 *   per million readings. `warm()` starts it when the API starts; a load that comes
 *   meanwhile may go on without it (`wait: false`) and show the current half hour.
 * - When the window moves on, only the half hours that closed since are read.
 * - Every `refreshMs` the whole window is read again in the background, for late
 *   readings; loads keep what is known meanwhile instead of waiting.
 * - A device unknown to the last read (new, or registered since) is read alone
 *   (`withDevices`).
 *
 * The cost follows the devices and the day shown (one index range scan per device on
 * reading (device_id, time)), not the history in the table. Nothing is done per
 * reading at ingest.
 */
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';

/** Seconds per sparkline bucket (30 minutes), and buckets per sparkline (24 hours). */
export const SPARK_STEP_S = 1800;
export const SPARK_BUCKETS = 48;
const STEP_MS = SPARK_STEP_S * 1000;

/**
 * The sparkline window around `now`: `from` (the first of its half hours), `open`
 * (the start of the current one, which still takes readings) and `end`.
 */
export function sparkWindow(now: Date): { from: Date; open: Date; end: Date } {
  const open = Math.floor(now.getTime() / STEP_MS) * STEP_MS;
  return {
    from: new Date(open - (SPARK_BUCKETS - 1) * STEP_MS),
    open: new Date(open),
    end: new Date(open + STEP_MS),
  };
}

/** Mean °C of the valid readings of each half hour, by half-hour number since 1970. */
export type HalfHours = Map<number, number>;

/** Each device's past half hours (an empty map: none had a valid reading). */
export type SparkPast = ReadonlyMap<string, HalfHours>;

interface Known {
  from: number;
  until: number;
  byDevice: Map<string, HalfHours>;
}

interface Pending {
  until: number;
  /** A read of the whole window (slow), not of the half hours that closed since. */
  whole: boolean;
  read: Promise<Known>;
}

// Half hours of [$1, $2) for every device, or those named in $3.
const PAST_SQL = `
select d.device_id,
       (select json_agg(json_build_array(
                 (extract(epoch from b) / ${SPARK_STEP_S})::int,
                 round(t::numeric, 2)))
        from (select date_bin(make_interval(secs => ${SPARK_STEP_S}), r.time,
                              $1::timestamptz) as b,
                     avg(r.temperature_c) as t
              from reading r
              where r.device_id = d.device_id
                and r.time >= $1::timestamptz and r.time < $2::timestamptz
                and r.quality = 'good' and r.temperature_c is not null
              group by 1) x) as spark
from device d
where $3::text[] is null or d.device_id = any($3::text[])`;

export interface SparkCacheOptions {
  /** Milliseconds before the whole window is read again, default 600,000. */
  refreshMs?: number;
  /** Where a failed background read is reported. */
  log?: Logger;
}

export class SparkCache {
  private known: Known | undefined;
  private pending: Pending | undefined;
  private refreshing: Promise<void> | undefined;
  private readAt = 0;
  private readonly refreshMs: number;

  constructor(
    private readonly pool: Pool,
    private readonly opts: SparkCacheOptions = {},
  ) {
    this.refreshMs = opts.refreshMs ?? 600_000;
  }

  /** Starts reading the past half hours of the window [from, until) (at API start). */
  warm(from: Date, until: Date): void {
    this.read(from.getTime(), until.getTime()).read.catch((err: Error) =>
      this.opts.log?.warn({ err: err.message }, 'sparkline read failed'),
    );
  }

  /**
   * The past half hours of [from, until), on half hours. Resolves with undefined,
   * without waiting, while a read of the whole window runs, unless `wait`.
   */
  async past(from: Date, until: Date, wait: boolean): Promise<SparkPast | undefined> {
    const known = this.known;
    if (known?.until === until.getTime()) {
      if (Date.now() - this.readAt >= this.refreshMs)
        this.refresh(known.from, known.until);
      return known.byDevice;
    }
    const p = this.read(from.getTime(), until.getTime());
    if (p.whole && !wait) return undefined;
    return (await p.read).byDevice;
  }

  /**
   * `past` (an answer of `past` for [from, until)), with the devices of `ids` that it
   * does not hold read now, and kept.
   */
  async withDevices(
    past: SparkPast,
    from: Date,
    until: Date,
    ids: readonly string[],
  ): Promise<SparkPast> {
    const unknown = ids.filter((id) => !past.has(id));
    if (unknown.length === 0) return past;
    const more = await this.query(from.getTime(), until.getTime(), unknown);
    const all = past as Map<string, HalfHours>;
    for (const id of unknown) all.set(id, more.get(id) ?? new Map<number, number>());
    return all;
  }

  /** True when the past half hours up to `until` are known. */
  holds(until: Date): boolean {
    return this.known?.until === until.getTime();
  }

  /** Resolves when no read runs (failed ones included). */
  async idle(): Promise<void> {
    while (this.pending || this.refreshing) {
      await Promise.allSettled([this.pending?.read, this.refreshing]);
    }
  }

  private read(from: number, until: number): Pending {
    if (this.pending?.until === until) return this.pending;
    // A read under way (of an earlier window) is finished first: this one builds on it.
    const before = this.pending?.read.catch(() => undefined) ?? Promise.resolve();
    const base = this.pending ? undefined : this.known;
    const whole =
      this.pending?.whole ?? (!base || base.until < from || base.until > until);
    const read = before.then(() => this.extend(from, until));
    const p: Pending = { until, whole, read };
    this.pending = p;
    void read
      .catch(() => undefined)
      .finally(() => {
        if (this.pending === p) this.pending = undefined;
      });
    return p;
  }

  /** The window [from, until) from what is known: the half hours missing, or all. */
  private async extend(from: number, until: number): Promise<Known> {
    const base = this.known;
    const whole = !base || base.until < from || base.until > until || base.from > from;
    const startedAt = Date.now();
    const fresh = await this.query(whole ? from : base.until, until);
    if (!whole) {
      const first = from / STEP_MS;
      for (const [id, halves] of base.byDevice) {
        const merged = new Map([...halves].filter(([h]) => h >= first));
        for (const [h, t] of fresh.get(id) ?? []) merged.set(h, t);
        fresh.set(id, merged);
      }
    }
    const known = { from, until, byDevice: fresh };
    if (!this.known || this.known.until <= until) this.known = known;
    if (whole) this.readAt = startedAt;
    return known;
  }

  /** Reads the whole window again in the background; loads keep the known one. */
  private refresh(from: number, until: number): void {
    if (this.refreshing) return;
    const startedAt = Date.now();
    this.readAt = startedAt;
    this.refreshing = this.query(from, until)
      .then((byDevice) => {
        if (this.known?.until === until) this.known = { from, until, byDevice };
      })
      .catch((err: Error) => {
        this.readAt = 0;
        this.opts.log?.warn({ err: err.message }, 'sparkline refresh failed');
      })
      .finally(() => {
        this.refreshing = undefined;
      });
  }

  private async query(
    from: number,
    until: number,
    devices?: readonly string[],
  ): Promise<Map<string, HalfHours>> {
    const { rows } = await this.pool.query<{
      device_id: string;
      spark: Array<[number, number]> | null;
    }>(PAST_SQL, [new Date(from), new Date(until), devices ?? null]);
    return new Map(rows.map((r) => [r.device_id, new Map(r.spark ?? [])]));
  }
}
