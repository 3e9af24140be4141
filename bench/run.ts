/**
 * `npm run bench`: ingest throughput and memory, end to end, on this machine.
 *
 * Starts its own Mosquitto (the project's broker settings, a free port), its own
 * empty PostgreSQL database on the local server, and `heru ingest` as a child
 * process. Publishers in another child process send QoS 1 readings in the server's
 * own format; the bench counts what is committed in PostgreSQL and samples the
 * ingest's resident memory. Then it times a plain bulk insert of the same rows (the
 * ceiling), optionally a batched-message figure and a one-message-per-commit
 * baseline, prints one table, and removes what it made. Then the anchoring figures
 * (bench/anchor.ts) and the alert latency at half the burst's rate
 * (bench/alertLatency.ts; `--only alert` runs that phase alone).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../test/helpers/mosquitto.js';
import { readOptions, usage, type BenchOptions } from './args.js';
import { measureCeiling } from './ceiling.js';
import {
  createBenchDatabase,
  serverSettings,
  tableCounts,
  type BenchDatabase,
} from './database.js';
import { buildIngest, startIngest, type IngestProcess } from './ingestProcess.js';
import {
  runPhase,
  type IngestHandle,
  type PhaseContext,
  type PhaseSpec,
} from './phase.js';
import { loadAverage, statusKb } from './procStats.js';
import { formatReport, type BenchReport } from './report.js';
import { benchAnchor } from './anchor.js';
import { benchAlert } from './alertLatency.js';

const INGEST_CLIENT_ID = 'heru-bench-ingest';
const TUNING = /^(INGEST_|MQTT_RECEIVE_MAXIMUM$|MAX_PAYLOAD_BYTES$|LOG_LEVEL$)/;

function phaseSpec(o: BenchOptions, boot: number, messages: number, per = 1): PhaseSpec {
  return {
    job: {
      connections: o.connections,
      window: o.window,
      devices: Math.min(o.devices, messages),
      messages,
      perMessage: per,
      boot,
      rate: o.rate,
    },
  };
}

function conditions(o: BenchOptions, pgSettings: string): string[] {
  const tuning = Object.entries(process.env)
    .filter(([k]) => TUNING.test(k))
    .map(([k, v]) => `${k}=${v}`);
  return [
    `Heru ingest benchmark, ${new Date().toISOString()}`,
    `machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}; load average at start ${loadAverage().toFixed(2)}`,
    `PostgreSQL: ${pgSettings}`,
    `ingest: runner ${o.runner}; settings ${tuning.length ? tuning.join(' ') : 'defaults'}` +
      (o.nodeFlags.length ? `; node flags ${o.nodeFlags.join(' ')}` : ''),
    `publishers: ${o.connections} connections × window ${o.window}, ${o.devices} devices, rate ${o.rate || 'unlimited'}`,
    ...(o.crash
      ? ['crash mode: the burst includes a kill and a restart of the ingest']
      : []),
  ];
}

async function measure(
  o: BenchOptions,
  ctx: PhaseContext,
  brokerUrl: string,
  dir: string,
): Promise<BenchReport> {
  const db = ctx.db;
  const start = (env: Record<string, string> = {}): Promise<IngestProcess> =>
    startIngest({
      databaseUrl: db.url,
      mqttUrl: brokerUrl,
      clientId: INGEST_CLIENT_ID,
      runner: o.runner,
      buildDir: join(dir, 'build'),
      nodeFlags: o.nodeFlags,
      env,
      logFile: join(dir, 'ingest.log'),
      ...(o.cpuProf ? { cpuProfDir: o.cpuProf } : {}),
    });
  const ingest: IngestHandle = { current: await start(), restart: () => start() };
  try {
    const rssAtStartKb = statusKb(ingest.current.pid, 'VmRSS') ?? 0;
    const spec = phaseSpec(o, 1, o.burst);
    if (o.crash) spec.crashAt = 0.4;
    const report: BenchReport = {
      conditions: conditions(o, await serverSettings(db.client)),
      burst: await runPhase(spec, ingest, ctx),
      rssAtStartKb,
      check: await tableCounts(db.client),
    };
    if (o.perMessage > 0) {
      const messages = Math.ceil(o.batchedReadings / o.perMessage);
      const result = await runPhase(phaseSpec(o, 2, messages, o.perMessage), ingest, ctx);
      report.batched = { perMessage: o.perMessage, result };
    }
    if (o.baseline > 0) {
      // The same persistent session, restarted as the naive design: one message in
      // flight, one commit per message.
      await ingest.current.stop();
      ingest.current = await start({
        INGEST_BATCH_SIZE: '1',
        INGEST_LINGER_MS: '0',
        MQTT_RECEIVE_MAXIMUM: '1',
      });
      const naive = { ...phaseSpec(o, 3, o.baseline), minRate: 50 };
      report.baseline = await runPhase(naive, ingest, ctx);
    }
    await ingest.current.stop();
    if (o.ceiling) report.ceiling = await measureCeiling(db.url, 1, dir);
    return report;
  } finally {
    await ingest.current.stop();
  }
}

async function main(): Promise<void> {
  const o = readOptions(process.argv.slice(2));
  if (o === 'help') {
    console.log(usage());
    return;
  }
  const dir = mkdtempSync(join(os.tmpdir(), 'heru-bench-'));
  const broker = await startBroker();
  let db: BenchDatabase | undefined;
  try {
    if (o.runner === 'dist') {
      console.error('bench: compiling src/ for the dist runner…');
      buildIngest(join(dir, 'build'));
    }
    let maxRate: number | undefined;
    if (o.only !== 'alert') {
      db = await createBenchDatabase('ingest');
      console.error(`bench: broker ${broker.url}, database ${db.name}, files in ${dir}`);
      const ctx = { db, brokerPort: broker.port, brokerDir: broker.dir };
      const report = await measure(o, ctx, broker.url, dir);
      console.log(formatReport(report));
      maxRate = report.burst.steadyRate;
      // Anchoring with the local backends: the worker's rate, and stored → proof time.
      const anchoring = await benchAnchor();
      console.log(`\n${anchoring.lines.join('\n')}`);
    }
    // Alert latency at half the ingest maximum (the burst's, or its own calibration).
    const alert = await benchAlert({
      runner: o.runner,
      buildDir: join(dir, 'build'),
      samples: o.alertSamples,
      ...(maxRate !== undefined && Number.isFinite(maxRate) ? { maxRate } : {}),
    });
    console.log(`\n${alert.lines.join('\n')}`);
    if (alert.arrived < alert.samples) process.exitCode = 1;
  } finally {
    if (o.keep) {
      console.error(`bench: kept database ${db?.name ?? '-'} and ${dir}, ${broker.dir}`);
      await broker.stop();
    } else {
      await broker.destroy();
      await db?.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
