/**
 * The benchmark's printed result: one table of figures, with the conditions of the
 * run above it and the memory timeline below it.
 */
import os from 'node:os';
import type { CeilingResult } from './ceiling.js';
import type { PhaseResult } from './phase.js';
import { quantileBound, type Histogram } from './promText.js';

export interface BenchReport {
  conditions: string[];
  burst: PhaseResult;
  rssAtStartKb: number;
  batched?: { perMessage: number; result: PhaseResult };
  baseline?: PhaseResult;
  ceiling?: CeilingResult;
  check: { readings: number; rawMessages: number; repeatedKeys: number };
}

const int = (n: number): string =>
  Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;
const ms = (s: number): string => `${(s * 1000).toFixed(1)} ms`;

function batchRows(label: string, sizes: Histogram, commits: Histogram): string[][] {
  const mean = sizes.count > 0 ? sizes.sum / sizes.count : NaN;
  const latency = commits.count > 0 ? commits.sum / commits.count : NaN;
  return [
    [
      `${label}: commits, messages per commit`,
      `${int(sizes.count)} commits; mean ${int(mean)}, p50 ≤ ${int(quantileBound(sizes, 0.5))}, p99 ≤ ${int(quantileBound(sizes, 0.99))}`,
    ],
    [
      `${label}: commit latency`,
      `mean ${ms(latency)}, p50 ≤ ${ms(quantileBound(commits, 0.5))}, p99 ≤ ${ms(quantileBound(commits, 0.99))}`,
    ],
  ];
}

function cpuRows(b: PhaseResult): string[][] {
  const c = b.cpu;
  const us = (sec: number): string => `${((sec / b.stored) * 1e6).toFixed(1)}`;
  const total = c.ingest + c.postgres + c.mosquitto + c.publishers;
  const cores = os.cpus().length;
  return [
    [
      'CPU during the burst, µs per reading (PostgreSQL: its backends for this database, WAL writer, checkpointer, bgwriter)',
      `ingest ${us(c.ingest)}, PostgreSQL ${us(c.postgres)}, Mosquitto ${us(c.mosquitto)}, publishers ${us(c.publishers)}; total ${us(total)}`,
    ],
    [
      `CPU-bound limit: ${cores} cores / total CPU per reading (an estimate, not a measurement)`,
      `${int((cores * b.stored) / total)} readings/s; the burst used ${((total / (b.seconds * cores)) * 100).toFixed(0)} % of the machine`,
    ],
  ];
}

function burstRows(r: BenchReport): string[][] {
  const b = r.burst;
  return [
    [
      'sustained ingest, 1 reading/message, QoS 1, PUBACK after commit (10–90 % of the burst)',
      `${int(b.steadyRate)} readings/s`,
    ],
    [
      'whole burst, first publish to last commit',
      `${int(b.stored)} readings in ${b.seconds.toFixed(1)} s = ${int(b.stored / b.seconds)}/s`,
    ],
    [
      'publishers (acknowledged by the broker)',
      `${int(b.readings)} messages in ${b.publishSeconds.toFixed(1)} s = ${int(b.readings / b.publishSeconds)}/s`,
    ],
    [
      'ingest resident memory (VmRSS) during the burst',
      `peak ${mb(b.rssPeakKb)}; ${mb(r.rssAtStartKb)} before it`,
    ],
    ...batchRows('burst', b.batchMessages, b.commitSeconds),
    ...cpuRows(b),
  ];
}

function otherRows(r: BenchReport): string[][] {
  const rows: string[][] = [];
  if (r.ceiling) {
    const c = r.ceiling;
    rows.push(
      [
        'ceiling: one COPY of the same reading rows into `reading` (fresh database, all indexes, no raw/key/device rows)',
        `${int(c.rate)} rows/s (${int(c.rows)} rows in ${c.seconds.toFixed(2)} s)`,
      ],
      ['ratio: sustained ingest / ceiling', (r.burst.steadyRate / c.rate).toFixed(2)],
    );
  }
  if (r.batched) {
    const b = r.batched.result;
    rows.push([
      `second figure: ${r.batched.perMessage} readings per message (JSON array), 10–90 % window`,
      `${int(b.steadyRate)} readings/s (${int(b.steadyRate / r.batched.perMessage)} messages/s)`,
    ]);
  }
  if (r.baseline) {
    rows.push([
      'baseline: one message per commit (batch 1, Receive Maximum 1)',
      `${int(r.baseline.stored / r.baseline.seconds)} readings/s over ${int(r.baseline.stored)}`,
    ]);
  }
  const k = r.check;
  rows.push([
    'check after the burst: rows in reading / raw_message; repeated (device, boot, seq)',
    `${int(k.readings)} / ${int(k.rawMessages)}; ${int(k.repeatedKeys)}`,
  ]);
  if (r.burst.crashed) {
    const once = k.readings === r.burst.readings && k.repeatedKeys === 0;
    rows.push([
      'crash check: ingest killed (SIGKILL) at 40 % of the burst and restarted',
      `${once ? 'every reading stored exactly once' : 'READINGS LOST OR REPEATED'}; ` +
        `${int(k.rawMessages - k.readings)} messages committed but not yet acknowledged came again`,
    ]);
  }
  return rows;
}

function table(rows: string[][]): string {
  const w = Math.max(...rows.map((r) => r[0]!.length));
  const line = `+${'-'.repeat(w + 2)}+${'-'.repeat(60)}`;
  return [line, ...rows.map(([a, b]) => `| ${a!.padEnd(w)} | ${b}`), line].join('\n');
}

/**
 * Memory and progress every few seconds of the burst (heap: used/total; pending:
 * messages held by the pipeline; rules-queue: readings waiting for the rule engine).
 */
function timeline(b: PhaseResult): string {
  const every = Math.max(5, Math.round(b.seconds / 20));
  const lines: string[] = [];
  let next = 0;
  for (const s of b.samples) {
    if (s.t < next || !s.heap) continue;
    next = s.t + every;
    const h = s.heap;
    const q = s.queues;
    lines.push(
      `  t=${s.t.toFixed(1)}s stored=${int(s.stored)} rss=${mb(s.rssKb)} ` +
        `heap=${h.usedMb.toFixed(0)}/${h.totalMb.toFixed(0)} MB external=${h.externalMb.toFixed(0)} MB` +
        (q ? ` pending=${int(q.pending)} rules-queue=${int(q.alarms)}` : ''),
    );
  }
  return lines.join('\n');
}

export function formatReport(r: BenchReport): string {
  return [
    ...r.conditions,
    '',
    table([...burstRows(r), ...otherRows(r)]),
    '',
    'Burst timeline:',
    timeline(r.burst),
  ].join('\n');
}
