/**
 * The soak's lines: one a minute with the state of everything, and at the end the
 * slope of each memory figure (a least-squares line through the minutes).
 */
import type { SoakTables } from './soakTables.js';

/** The state of everything at the end of a minute (the last one may be shorter). */
export interface Minute {
  minute: number;
  /** Seconds since publishing began. */
  seconds: number;
  acked: number;
  stored: number;
  ingestRssMb: number;
  workerRssMb: number;
  /** V8 heap in use (its /metrics), less noisy than the resident size. */
  ingestHeapMb: number;
  workerHeapMb: number;
  ingestCpuPct: number;
  workerCpuPct: number;
  redisMb: number;
  tables: SoakTables;
  queue: { waiting: number; active: number; failed: number };
}

const MB = 2 ** 20;

export function minuteLine(m: Minute, previous: Minute | undefined): string {
  const t = m.tables;
  const span = m.seconds - (previous?.seconds ?? 0);
  const rate = (m.stored - (previous?.stored ?? 0)) / span;
  return [
    `min ${String(m.minute).padStart(3)}`,
    `sent ${m.acked}`,
    `stored ${m.stored} (${rate.toFixed(0)}/s)`,
    `ingest ${m.ingestRssMb.toFixed(0)} MB (heap ${m.ingestHeapMb.toFixed(0)}) ${m.ingestCpuPct.toFixed(0)}% cpu`,
    `worker ${m.workerRssMb.toFixed(0)} MB (heap ${m.workerHeapMb.toFixed(0)}) ${m.workerCpuPct.toFixed(0)}% cpu`,
    `redis ${m.redisMb.toFixed(1)} MB`,
    `tables ${(t.totalBytes / MB).toFixed(0)} MB (reading ${(t.readingBytes / MB).toFixed(0)}, ` +
      `anchor_proof ${(t.proofBytes / MB).toFixed(0)})`,
    `queue ${m.queue.waiting} waiting ${m.queue.active} active ${m.queue.failed} failed`,
    `unbatched ${t.pendingReadings}, unanchored batches ${t.unanchoredBatches}`,
  ].join(' | ');
}

/** Least-squares slope of the points (x in minutes), in y a minute. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Slopes from the second minute on: the first is the warm-up (JIT, pools, first batches). */
export function summaryLines(minutes: readonly Minute[]): string[] {
  const steady = minutes.filter((m) => m.minute >= 2);
  const fit = (pick: (m: Minute) => number, unit: string): string => {
    const pts = steady.map((m) => [m.seconds / 60, pick(m)] as const);
    const perHour = slope(pts) * 60;
    const first = pts[0]?.[1] ?? 0;
    const last = pts.at(-1)?.[1] ?? 0;
    return (
      `${perHour >= 0 ? '+' : ''}${perHour.toFixed(1)} ${unit}/hour ` +
      `(minute 2: ${first.toFixed(1)}, last: ${last.toFixed(1)}, ` +
      `range ${Math.min(...pts.map((p) => p[1])).toFixed(1)}–${Math.max(...pts.map((p) => p[1])).toFixed(1)})`
    );
  };
  if (steady.length < 2) return ['too short for slopes: they start at minute 2'];
  const perReading = (m: Minute) => m.tables.totalBytes / Math.max(1, m.stored);
  const last = minutes.at(-1)!;
  return [
    `slopes from minute 2 on (${steady.length} points):`,
    `  ingest resident  ${fit((m) => m.ingestRssMb, 'MB')}`,
    `  worker resident  ${fit((m) => m.workerRssMb, 'MB')}`,
    `  ingest heap      ${fit((m) => m.ingestHeapMb, 'MB')}`,
    `  worker heap      ${fit((m) => m.workerHeapMb, 'MB')}`,
    `  redis used       ${fit((m) => m.redisMb, 'MB')}`,
    `  tables           ${fit((m) => m.tables.totalBytes / MB, 'MB')}, ` +
      `${perReading(last).toFixed(0)} bytes a reading`,
  ];
}
