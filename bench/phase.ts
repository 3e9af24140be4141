/**
 * One measured phase: publishers send a known number of readings while the bench
 * samples, every 250 ms, the readings committed in PostgreSQL and the resident memory
 * of the ingest, until every reading is stored.
 *
 * The sustained rate is taken over the steady part of the phase: from the sample where
 * 10 % of the readings are stored to the one where 90 % are, which leaves out the
 * start (connections, JIT warm-up) and the tail (the last partial batches).
 */
import { CpuMeter, pidsWithArgument, postgresPids } from './cpuMeter.js';
import { storedReadings, type BenchDatabase } from './database.js';
import type { IngestProcess } from './ingestProcess.js';
import { loadAverage, statusKb } from './procStats.js';
import { fetchSamples, histogram, since, type Histogram } from './promText.js';
import { startPublishers, type Publishers } from './publishers.js';
import type { PublisherJob } from './publisher.js';

export interface PhaseSpec {
  job: Omit<PublisherJob, 'deadlineMs' | 'clientPrefix' | 'port'>;
  /** Kill the ingest when this share of the readings is stored, and restart it. */
  crashAt?: number;
  /** Slowest rate, readings/s, before the phase gives up (after a minute's grace); default 2000. */
  minRate?: number;
}

/** The ingest under test; `restart` starts a new one after a kill. */
export interface IngestHandle {
  current: IngestProcess;
  restart(): Promise<IngestProcess>;
}

/** Where the phase runs: the bench's database and broker. */
export interface PhaseContext {
  db: BenchDatabase;
  brokerPort: number;
  /** The broker's folder, which its command line names. */
  brokerDir: string;
}

export interface Sample {
  t: number;
  stored: number;
  rssKb: number;
  /** From the ingest's /metrics, every 5 s: V8 heap size and memory outside it. */
  heap?: { totalMb: number; usedMb: number; externalMb: number };
  /** Also from /metrics: messages held by the pipeline, readings queued for the rules. */
  queues?: { pending: number; alarms: number };
}

/** CPU seconds each part used during the phase. */
export interface PhaseCpu {
  ingest: number;
  publishers: number;
  mosquitto: number;
  postgres: number;
}

export interface PhaseResult {
  readings: number;
  stored: number;
  /** From the start of publishing until every reading is committed. */
  seconds: number;
  steadyRate: number;
  publishSeconds: number;
  rssPeakKb: number;
  samples: Sample[];
  cpu: PhaseCpu;
  loadBefore: number;
  loadAfter: number;
  batchMessages: Histogram;
  commitSeconds: Histogram;
  crashed: boolean;
}

const SAMPLE_EVERY_MS = 250;
const HEAP_EVERY_SAMPLES = 20;

async function batchHistograms(baseUrl: string): Promise<[Histogram, Histogram]> {
  const s = await fetchSamples(baseUrl);
  return [histogram(s, 'heru_batch_messages'), histogram(s, 'heru_batch_commit_seconds')];
}

async function memoryOf(baseUrl: string): Promise<Pick<Sample, 'heap' | 'queues'>> {
  const s = await fetchSamples(baseUrl).catch(() => undefined);
  if (!s) return {};
  const mb = (name: string): number => (s.get(`heru_process_${name}`) ?? NaN) / 2 ** 20;
  return {
    heap: {
      totalMb: mb('nodejs_heap_size_total_bytes'),
      usedMb: mb('nodejs_heap_size_used_bytes'),
      externalMb: mb('nodejs_external_memory_bytes'),
    },
    queues: {
      pending: s.get('heru_ingest_pending_messages') ?? NaN,
      alarms: s.get('heru_alarm_queued_readings') ?? NaN,
    },
  };
}

/** What the phase watches while it runs. */
class Probe {
  readonly samples: Sample[] = [];
  rssPeakKb = 0;
  readonly meters;

  constructor(
    private readonly ingest: IngestHandle,
    private readonly ctx: PhaseContext,
    private readonly started: number,
  ) {
    this.meters = {
      ingest: new CpuMeter(() => [ingest.current.pid]),
      mosquitto: new CpuMeter(() => pidsWithArgument(ctx.brokerDir)),
      postgres: new CpuMeter(postgresPids(ctx.db.client, ctx.db.name)),
    };
  }

  async meter(): Promise<void> {
    for (const m of Object.values(this.meters)) await m.sample();
  }

  /** One sample; returns the readings stored since `base`. */
  async sample(base: number): Promise<number> {
    const stored = (await storedReadings(this.ctx.db.client)) - base;
    const rssKb = statusKb(this.ingest.current.pid, 'VmRSS') ?? 0;
    this.rssPeakKb = Math.max(this.rssPeakKb, rssKb);
    const s: Sample = { t: (Date.now() - this.started) / 1000, stored, rssKb };
    // Every 5 s only: a scrape of /metrics costs the ingest some CPU.
    if (this.samples.length % HEAP_EVERY_SAMPLES === 0) {
      Object.assign(s, await memoryOf(this.ingest.current.baseUrl));
      await this.meter();
    }
    this.samples.push(s);
    return stored;
  }
}

function publish(spec: PhaseSpec, ctx: PhaseContext, deadlineMs: number): Publishers {
  return startPublishers({
    ...spec.job,
    port: ctx.brokerPort,
    clientPrefix: `bench-pub-${spec.job.boot}`,
    deadlineMs,
  });
}

export async function runPhase(
  spec: PhaseSpec,
  ingest: IngestHandle,
  ctx: PhaseContext,
): Promise<PhaseResult> {
  const readings = spec.job.messages * spec.job.perMessage;
  const deadlineMs = 60_000 + Math.ceil((readings / (spec.minRate ?? 2000)) * 1000);
  const base = await storedReadings(ctx.db.client);
  const [sizes0, commits0] = await batchHistograms(ingest.current.baseUrl);
  const loadBefore = loadAverage();
  const started = Date.now();
  const probe = new Probe(ingest, ctx, started);
  await probe.meter();
  const pub = publish(spec, ctx, deadlineMs);
  let crashed = false;
  let stored = 0;
  let done: { seconds: number; cpuSeconds: number };
  try {
    while (stored < readings) {
      if (Date.now() - started > deadlineMs)
        throw new Error(
          `phase not done in ${deadlineMs} ms: ${stored}/${readings} stored`,
        );
      await Promise.race([pub.done, new Promise((r) => setTimeout(r, SAMPLE_EVERY_MS))]);
      stored = await probe.sample(base);
      if (spec.crashAt !== undefined && !crashed && stored >= readings * spec.crashAt) {
        crashed = true;
        await probe.meter();
        await ingest.current.kill();
        ingest.current = await ingest.restart();
      }
    }
    done = await pub.done;
  } finally {
    pub.stop();
  }
  const seconds = (Date.now() - started) / 1000;
  await probe.meter();
  const [sizes1, commits1] = await batchHistograms(ingest.current.baseUrl);
  return {
    readings,
    stored,
    seconds,
    steadyRate: steadyRate(probe.samples, readings),
    publishSeconds: done.seconds,
    rssPeakKb: Math.max(probe.rssPeakKb, statusKb(ingest.current.pid, 'VmHWM') ?? 0),
    samples: probe.samples,
    cpu: {
      ingest: probe.meters.ingest.seconds(),
      publishers: done.cpuSeconds,
      mosquitto: probe.meters.mosquitto.seconds(),
      postgres: probe.meters.postgres.seconds(),
    },
    loadBefore,
    loadAfter: loadAverage(),
    batchMessages: crashed ? sizes1 : since(sizes1, sizes0),
    commitSeconds: crashed ? commits1 : since(commits1, commits0),
    crashed,
  };
}

/** Readings per second between the 10 % and 90 % samples. */
export function steadyRate(samples: readonly Sample[], readings: number): number {
  const from = samples.find((s) => s.stored >= readings * 0.1);
  const to = samples.find((s) => s.stored >= readings * 0.9);
  if (!from || !to || to.t <= from.t) return NaN;
  return (to.stored - from.stored) / (to.t - from.t);
}
