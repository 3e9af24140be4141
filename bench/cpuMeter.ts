/**
 * CPU time used by the processes of one part of the system (the ingest, the broker,
 * PostgreSQL) over a phase. The processes of a part are found anew at each sample,
 * so a PostgreSQL backend that starts during the phase counts from when it is first
 * seen; one that ends between two samples loses its last interval.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type pg from 'pg';
import { cpuSeconds } from './procStats.js';

export type PidSource = () => Promise<number[]> | number[];

export class CpuMeter {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();

  constructor(private readonly source: PidSource) {}

  async sample(): Promise<void> {
    for (const pid of await this.source()) {
      const cpu = cpuSeconds(pid);
      if (cpu === undefined) continue;
      if (!this.first.has(pid)) this.first.set(pid, cpu);
      this.last.set(pid, cpu);
    }
  }

  /** CPU seconds used between the first and the last sample. */
  seconds(): number {
    let total = 0;
    for (const [pid, end] of this.last) total += end - (this.first.get(pid) ?? end);
    return total;
  }
}

/** Processes whose command line contains `part` (e.g. the broker's config path). */
export function pidsWithArgument(part: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(part))
        out.push(Number(entry));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return out;
}

/**
 * PostgreSQL's processes that work for the benchmark: the backends connected to its
 * database (but the one asking), and the WAL writer, checkpointer and background writer (which also work
 * for whatever else runs on the server at the time).
 */
export function postgresPids(client: pg.Client, database: string): PidSource {
  return async () => {
    const { rows } = await client.query<{ pid: number }>(
      `select pid from pg_stat_activity
        where (datname = $1 and pid <> pg_backend_pid())
           or backend_type in ('walwriter', 'checkpointer', 'background writer')`,
      [database],
    );
    return rows.map((r) => r.pid);
  };
}
