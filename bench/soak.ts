/**
 * `npm run soak -- --minutes N`: the whole pipeline at a steady rate for N minutes,
 * to see that nothing grows that should not.
 *
 * Starts its own Mosquitto (the project's broker settings), its own Redis, its own
 * PostgreSQL database on the local server, and the server compiled to JavaScript as
 * two processes, `heru ingest` and `heru worker`, sharing the anchor queue on that
 * Redis with the local IPFS store and ledger. Publishers in a child process send
 * rate × minutes × 60 QoS 1 readings at the given rate (longer, if the machine cannot
 * keep the rate). Each minute it prints the resident memory and CPU of both
 * processes, Redis's used memory, the size of the growing tables, and the work
 * waiting (queue jobs, readings not yet in a batch, batches not yet anchored). At the
 * end it prints the slope of each memory figure, checks that every reading sent was
 * stored once and anchored, and removes what it made.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startBroker } from '../test/helpers/mosquitto.js';
import { OwnRedis } from '../test/helpers/ownRedis.js';
import { createBenchDatabase, tableCounts, type BenchDatabase } from './database.js';
import { buildIngest, startIngest, type IngestProcess } from './ingestProcess.js';
import { cpuSeconds, loadAverage, statusKb } from './procStats.js';
import { fetchSamples } from './promText.js';
import { startPublishers, type Publishers } from './publishers.js';
import { minuteLine, summaryLines, type Minute } from './soakReport.js';
import { soakTables } from './soakTables.js';

const USAGE = `npm run soak -- [options]
  --minutes N   how long to publish at the rate, 1 to 120 (default 30)
  --rate N      readings a second, one a message (default 5000)
  --devices N   simulated devices (default 1000)
  --keep        keep the database and the folder of logs`;

const QUEUE = 'heru-anchor';

interface SoakOptions {
  minutes: number;
  rate: number;
  devices: number;
  keep: boolean;
}

function readOptions(argv: string[]): SoakOptions | 'help' {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string', default: '30' },
      rate: { type: 'string', default: '5000' },
      devices: { type: 'string', default: '1000' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (v.help) return 'help';
  const whole = (name: string, text: string, min: number, max: number): number => {
    const n = Number(text.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(
        `--${name} takes a whole number from ${min} to ${max}, got ${text}`,
      );
    return n;
  };
  return {
    minutes: whole('minutes', v.minutes, 1, 120),
    rate: whole('rate', v.rate, 1, 100_000),
    devices: whole('devices', v.devices, 1, 100_000),
    keep: v.keep,
  };
}

/** What the soak watches: the two server processes, Redis and the database. */
interface Watched {
  ingest: IngestProcess;
  worker: IngestProcess;
  redis: Redis;
  queue: Queue;
  db: BenchDatabase;
  publishers: Publishers;
  startedAt: number;
}

const mb = (kb: number | undefined): number => (kb ?? 0) / 1024;

async function sample(w: Watched, minute: number, previous?: Minute): Promise<Minute> {
  const seconds = (Date.now() - w.startedAt) / 1000;
  const span = seconds - (previous?.seconds ?? 0);
  const cpuPct = (pid: number, before: number) =>
    (((cpuSeconds(pid) ?? 0) - before) / span) * 100;
  const counts = await w.queue.getJobCounts('wait', 'delayed', 'active', 'failed');
  const tables = await soakTables(w.db.client);
  const m: Minute = {
    minute,
    seconds,
    acked: w.publishers.acked(),
    stored: tables.readings,
    ingestRssMb: mb(statusKb(w.ingest.pid, 'VmRSS')),
    workerRssMb: mb(statusKb(w.worker.pid, 'VmRSS')),
    ingestHeapMb: await heapUsedMb(w.ingest.baseUrl),
    workerHeapMb: await heapUsedMb(w.worker.baseUrl),
    ingestCpuPct: cpuPct(w.ingest.pid, cpuTotals.get(w.ingest.pid) ?? 0),
    workerCpuPct: cpuPct(w.worker.pid, cpuTotals.get(w.worker.pid) ?? 0),
    redisMb: await redisUsedMb(w.redis),
    tables,
    queue: {
      waiting: (counts.wait ?? 0) + (counts.delayed ?? 0),
      active: counts.active ?? 0,
      failed: counts.failed ?? 0,
    },
  };
  for (const pid of [w.ingest.pid, w.worker.pid])
    cpuTotals.set(pid, cpuSeconds(pid) ?? 0);
  return m;
}

/** CPU seconds of each process at the last sample. */
const cpuTotals = new Map<number, number>();

/** The process's V8 heap in use, from its /metrics; NaN when it does not answer. */
async function heapUsedMb(baseUrl: string): Promise<number> {
  const s = await fetchSamples(baseUrl).catch(() => undefined);
  return (s?.get('heru_process_nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20;
}

async function redisUsedMb(redis: Redis): Promise<number> {
  const m = /^used_memory:(\d+)/m.exec(await redis.info('memory'));
  return m ? Number(m[1]) / 2 ** 20 : NaN;
}

let stopping = false;
/**
 * Resolves at the first SIGINT or SIGTERM: the soak then stops publishing and removes
 * what it started (its broker, Redis, server processes, database) before it exits. A
 * second signal exits at once.
 */
const interrupted = new Promise<string>((resolve) => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(130);
      stopping = true;
      console.error(`soak: ${signal}: stopping and cleaning up (again to exit at once)`);
      resolve(signal);
    });
  }
});
/** A minute, or less when the publishers finish (or fail) first, or the soak is stopped. */
function minuteOrDone(done: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const minute = new Promise<void>((r) => (timer = setTimeout(r, 60_000)));
  const finished = done.then(
    () => undefined,
    () => undefined,
  );
  return Promise.race([minute, finished, interrupted])
    .then(
      () => undefined,
      () => undefined,
    )
    .finally(() => clearTimeout(timer));
}

async function watch(w: Watched): Promise<Minute[]> {
  const minutes: Minute[] = [];
  let finished = false;
  const done = w.publishers.done.then(() => (finished = true));
  done.catch((err: Error) => {
    finished = true;
    console.error(`soak: ${err.message}`);
  });
  void interrupted.then(() => (finished = true));
  for (let minute = 1; !finished; minute += 1) {
    await minuteOrDone(done);
    const m = await sample(w, minute, minutes.at(-1));
    minutes.push(m);
    console.log(minuteLine(m, minutes.at(-2)));
  }
  return minutes;
}

/**
 * After the publishers: waits (at most 5 minutes) until everything they got
 * acknowledged is stored and anchored, then counts every row once.
 */
async function settle(db: BenchDatabase, acked: number) {
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    const t = await soakTables(db.client);
    const done =
      t.readings >= acked && t.pendingReadings === 0 && t.unanchoredBatches === 0;
    if (done || Date.now() > deadline) {
      const c = await tableCounts(db.client);
      return { ...c, anchored: t.anchoredReadings, pending: t.pendingReadings };
    }
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

async function run(o: SoakOptions, dir: string, db: BenchDatabase): Promise<void> {
  const broker = await startBroker();
  const ownRedis = await OwnRedis.start();
  const redis = new Redis(ownRedis.url, { maxRetriesPerRequest: 1 });
  const queue = new Queue(QUEUE, { connection: { url: ownRedis.url }, prefix: 'heru' });
  const procs: IngestProcess[] = [];
  try {
    console.error('soak: compiling src/ …');
    buildIngest(join(dir, 'build'));
    const common = {
      databaseUrl: db.url,
      mqttUrl: broker.url,
      runner: 'dist' as const,
      buildDir: join(dir, 'build'),
      env: {
        REDIS_URL: ownRedis.url,
        ANCHOR_QUEUE: QUEUE,
        HERU_DATA_DIR: join(dir, 'data'),
        LOG_LEVEL: 'warn',
      },
    };
    const ingest = await startIngest({
      ...common,
      clientId: 'heru-soak-ingest',
      logFile: join(dir, 'ingest.log'),
    });
    procs.push(ingest);
    const worker = await startIngest({
      ...common,
      clientId: 'heru-soak-worker',
      command: 'worker',
      logFile: join(dir, 'worker.log'),
    });
    procs.push(worker);
    const messages = o.rate * o.minutes * 60;
    console.log(
      `Heru soak, ${new Date().toISOString()}: ${messages} readings at ${o.rate}/s from ` +
        `${o.devices} devices; ${os.cpus().length} CPUs, load ${loadAverage().toFixed(2)}; ` +
        `database ${db.name}, logs in ${dir}`,
    );
    for (const p of procs) cpuTotals.set(p.pid, cpuSeconds(p.pid) ?? 0);
    const publishers = startPublishers({
      port: broker.port,
      clientPrefix: 'heru-soak-pub',
      connections: 4,
      window: 1000,
      devices: o.devices,
      messages,
      perMessage: 1,
      boot: 1,
      rate: o.rate,
      deadlineMs: (o.minutes + 10) * 60_000,
    });
    const startedAt = Date.now();
    const w = { ingest, worker, redis, queue, db, publishers, startedAt };
    const minutes = await watch(w);
    publishers.stop();
    if (stopping) {
      process.exitCode = 130;
      return;
    }
    const final = await settle(db, publishers.acked());
    console.log(summaryLines(minutes).join('\n'));
    console.log(
      `end: ${publishers.acked()} readings acknowledged by the broker in ` +
        `${((Date.now() - startedAt) / 60_000).toFixed(1)} min; ${final.readings} stored ` +
        `(${final.repeatedKeys} keys stored twice), ${final.anchored} anchored, ` +
        `${final.pending} not yet in a batch; peak resident: ingest ` +
        `${mb(statusKb(ingest.pid, 'VmHWM')).toFixed(0)} MB, worker ` +
        `${mb(statusKb(worker.pid, 'VmHWM')).toFixed(0)} MB`,
    );
    if (final.readings !== publishers.acked() || final.repeatedKeys > 0)
      process.exitCode = 1;
  } finally {
    for (const p of procs.reverse()) await p.stop().catch(() => undefined);
    await queue.close().catch(() => undefined);
    redis.disconnect();
    await ownRedis.stop();
    await broker.destroy();
  }
}

async function main(): Promise<void> {
  const o = readOptions(process.argv.slice(2));
  if (o === 'help') {
    console.log(USAGE);
    return;
  }
  const dir = mkdtempSync(join(os.tmpdir(), 'heru-soak-'));
  const db = await createBenchDatabase('soak');
  try {
    await run(o, dir, db);
  } finally {
    if (o.keep) {
      console.error(`soak: kept database ${db.name} and ${dir}`);
      await db.client.end();
    } else {
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
