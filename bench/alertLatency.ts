/**
 * Alert latency: the time from an MQTT publish of an immediate-level reading (14.2 °C,
 * above the 12 °C of the default vaccine-fridge profile) to the signed webhook that
 * tells of the alarm arriving at a receiver, p50 and p99, while ingest carries a
 * background load of half its maximum.
 *
 * The maximum is the sustained ingest rate the main burst measured (`maxRate`), or,
 * run alone, that of a calibration burst measured the same way (10–90 % of it).
 * The sampled devices report an in-range reading first, so that each alarm comes from
 * a device the server already knows, as a fridge that turns warm does.
 *
 * `benchAlert()` is what `npm run bench` calls (`npm run bench -- --only alert` runs
 * this phase alone); `node --import tsx bench/alertLatency.ts [--samples N]
 * [--load N] [--calibrate N]` runs it from src/ through tsx.
 *
 * Starts its own Mosquitto, database, `heru ingest` child process (rules and the
 * notification hub run in it), a webhook receiver in this process, and the bench's
 * publishers in a child process for the load. Every loop is bounded in count and
 * time; everything it started is stopped and removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import pg from 'pg';
import { createRecipient } from '../src/notify/recipients.js';
import { startBroker, type TestBroker } from '../test/helpers/mosquitto.js';
import {
  startWebhookReceiver,
  type MockWebhookReceiver,
} from '../test/mocks/webhookReceiver.js';
import { createBenchDatabase, storedReadings, type BenchDatabase } from './database.js';
import { startIngest, type IngestProcess } from './ingestProcess.js';
import { runPhase, type IngestHandle } from './phase.js';
import { loadAverage } from './procStats.js';
import { fetchSamples } from './promText.js';
import { startPublishers } from './publishers.js';
import { alertStages, formatStages, type Sent } from './alertStages.js';

const SECRET = 'alert-latency-bench-secret-0123456789';
const SAMPLE_TIMEOUT_MS = 5_000;
const SAMPLE_SPACING_MS = 150;
/** Seconds of background load before the first sample, so that ingest is in its stride. */
const WARM_UP_S = 3;

export interface AlertBenchOptions {
  /** Alarms timed; default 100. */
  samples?: number;
  /** Ingest's maximum, readings/s (1 reading a message); measured here when absent. */
  maxRate?: number;
  /** Background load, messages/s; default half of the maximum. */
  load?: number;
  /**
   * Messages of the calibration burst when the maximum is measured here; default
   * 300,000: long enough that the rule engine's queue (which takes up to 50,000
   * readings before ingest waits for it) does not flatter the rate.
   */
  calibrate?: number;
  /** Devices of the background load; default 1000. */
  devices?: number;
  runner: 'tsx' | 'dist';
  /** Where bench/ingestProcess.ts compiled the server, for the dist runner. */
  buildDir?: string;
}

export interface AlertBenchResult {
  samples: number;
  arrived: number;
  p50: number | undefined;
  p99: number | undefined;
  lines: string[];
}

export async function benchAlert(o: AlertBenchOptions): Promise<AlertBenchResult> {
  const samples = o.samples ?? 100;
  const dir = mkdtempSync(join(os.tmpdir(), 'heru-alert-bench-'));
  let broker: TestBroker | undefined;
  let db: BenchDatabase | undefined;
  let receiver: MockWebhookReceiver | undefined;
  let ingest: IngestProcess | undefined;
  try {
    [broker, db, receiver] = await Promise.all([
      startBroker(),
      createBenchDatabase('alert'),
      startWebhookReceiver(),
    ]);
    receiver.setSecret(SECRET);
    ingest = await startIngest({
      databaseUrl: db.url,
      mqttUrl: broker.url,
      clientId: 'heru-alert-bench',
      runner: o.runner,
      ...(o.buildDir ? { buildDir: o.buildDir } : {}),
      // The rate limit folds a burst to one recipient into digests; here every
      // alarm is a sample and must go out on its own.
      env: { LOG_LEVEL: 'warn', NOTIFY_RATE_LIMIT: '10000' },
      logFile: join(dir, 'ingest.log'),
    });
    await addRecipient(db.url, receiver.url);
    const devices = o.devices ?? 1000;
    const maxRate =
      o.maxRate ?? (await calibrate(ingest, db, broker, o.calibrate ?? 300_000, devices));
    await rulesCaughtUp(ingest.baseUrl);
    const rate = o.load ?? Math.max(1, Math.floor(maxRate / 2));
    const run = await sampleUnderLoad({
      broker,
      db,
      receiver,
      samples,
      rate,
      devices,
      metricsUrl: ingest.baseUrl,
    });
    const stages = await alertStages(db.client, run.sent);
    return {
      samples,
      arrived: run.latencies.length,
      ...percentiles(run.latencies),
      lines: [
        ...reportLines({ ...run, samples, maxRate, rate, devices, origin: origin(o) }),
        ...formatStages(stages),
        ...(run.missing.length > 0 ? await diagnose(db.client, run.missing) : []),
      ],
    };
  } finally {
    await ingest?.stop().catch(() => undefined);
    await receiver?.close();
    await broker?.destroy();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One recipient for every immediate-level alarm, by signed webhook to the receiver. */
async function addRecipient(databaseUrl: URL, url: URL): Promise<void> {
  const pool = new pg.Pool({ connectionString: databaseUrl.toString(), max: 1 });
  try {
    await createRecipient(
      pool,
      {
        name: 'Alert latency bench',
        scope: 'all',
        scope_value: null,
        level: 0,
        min_severity: 'info',
        alarm_kinds: ['excursion_immediate'],
        notify_on: ['raised'],
        enabled: true,
      },
      [{ kind: 'webhook', address: url.toString(), webhookSecret: SECRET }],
    );
  } finally {
    await pool.end();
  }
}

function loadJob(port: number, boot: number, devices: number, rate: number, s: number) {
  return {
    port,
    clientPrefix: `alert-bench-${boot}`,
    connections: 4,
    window: 1000,
    devices,
    messages: rate * s,
    perMessage: 1,
    boot,
    rate,
    deadlineMs: (s + 60) * 1000,
  };
}

/** Ingest's sustained rate (10–90 % of a burst), measured as the main bench does it. */
async function calibrate(
  ingest: IngestProcess,
  db: BenchDatabase,
  broker: TestBroker,
  messages: number,
  devices: number,
): Promise<number> {
  const handle: IngestHandle = {
    current: ingest,
    restart: () => Promise.reject(new Error('the alert bench never restarts ingest')),
  };
  const job = { connections: 4, window: 1000, devices, messages, perMessage: 1 };
  const result = await runPhase({ job: { ...job, boot: 1, rate: 0 } }, handle, {
    db,
    brokerPort: broker.port,
    brokerDir: broker.dir,
  });
  return result.steadyRate;
}

/** Waits (at most two minutes) until the rule engine has evaluated what the calibration stored. */
async function rulesCaughtUp(baseUrl: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const s = await fetchSamples(baseUrl).catch(() => undefined);
    if (s?.get('heru_alarm_queued_readings') === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface SampleRun {
  latencies: number[];
  missing: string[];
  sent: Sent[];
  /** Readings stored per second while the samples were taken. */
  carried: number;
  /**
   * While sampling, the most readings seen waiting for the rule engine, messages held
   * by ingest, and the longest the ingest's event loop was blocked (ms).
   */
  maxQueued: { rules: number; ingest: number; loopMs: number };
  loadBefore: number;
  loadAfter: number;
}

async function sampleUnderLoad(a: {
  broker: TestBroker;
  db: BenchDatabase;
  receiver: MockWebhookReceiver;
  samples: number;
  rate: number;
  devices: number;
  metricsUrl: string;
}): Promise<SampleRun> {
  const client = await mqtt.connectAsync(a.broker.url, {
    clientId: 'alert-bench-sampler',
  });
  const seconds = Math.ceil((a.samples * (SAMPLE_SPACING_MS + 250)) / 1000) + 30;
  const load = startPublishers(loadJob(a.broker.port, 2, a.devices, a.rate, seconds));
  try {
    await warmUp(client, a.samples);
    await new Promise((r) => setTimeout(r, WARM_UP_S * 1000));
    const loadBefore = loadAverage();
    const stored0 = await storedReadings(a.db.client);
    const t0 = performance.now();
    const queues = watchQueues(a.metricsUrl);
    const run = await sample(client, a.receiver, a.samples).finally(() => queues.stop());
    const carried =
      ((await storedReadings(a.db.client)) - stored0) / ((performance.now() - t0) / 1000);
    const maxQueued = await queues.max;
    return { ...run, carried, maxQueued, loadBefore, loadAfter: loadAverage() };
  } finally {
    load.stop();
    await client.endAsync();
  }
}

/** Polls the ingest's /metrics every 500 ms for its queues, until stopped. */
function watchQueues(baseUrl: string): {
  stop(): void;
  max: Promise<SampleRun['maxQueued']>;
} {
  let stopped = false;
  const max = { rules: 0, ingest: 0, loopMs: 0 };
  const poll = async (): Promise<SampleRun['maxQueued']> => {
    while (!stopped) {
      const s = await fetchSamples(baseUrl).catch(() => undefined);
      max.rules = Math.max(max.rules, s?.get('heru_alarm_queued_readings') ?? 0);
      max.ingest = Math.max(max.ingest, s?.get('heru_ingest_pending_messages') ?? 0);
      const loop = s?.get('heru_process_nodejs_eventloop_lag_max_seconds') ?? 0;
      max.loopMs = Math.max(max.loopMs, loop * 1000);
      await new Promise((r) => setTimeout(r, 500));
    }
    return max;
  };
  return {
    stop: () => {
      stopped = true;
    },
    max: poll(),
  };
}

const sampleDevice = (i: number): string => `alert-${String(i).padStart(4, '0')}`;
const topicOf = (device: string): string => `heru/v1/devices/${device}/readings`;

/** One in-range reading from each sampled device, a minute back, so that the server knows it. */
async function warmUp(client: mqtt.MqttClient, n: number): Promise<void> {
  const time = new Date(Date.now() - 60_000).toISOString();
  for (let i = 0; i < n; i += 1) {
    const payload = JSON.stringify({ boot: 1, seq: 0, time, temperature: 5.1 });
    await client.publishAsync(topicOf(sampleDevice(i)), payload, { qos: 1 });
  }
}

/** Publishes one hot reading per sampled device, in turn, and times the webhook that follows it. */
async function sample(
  client: mqtt.MqttClient,
  receiver: MockWebhookReceiver,
  n: number,
): Promise<Pick<SampleRun, 'latencies' | 'missing' | 'sent'>> {
  const waiting = new Map<string, (at: number) => void>();
  receiver.onHook = (hook) => {
    const device = (hook.body.alarm as { device_id?: string } | null)?.device_id;
    if (device) waiting.get(device)?.(hook.at);
  };
  const out: Pick<SampleRun, 'latencies' | 'missing' | 'sent'> = {
    latencies: [],
    missing: [],
    sent: [],
  };
  for (let i = 0; i < n; i += 1) {
    const device = sampleDevice(i);
    let timer: NodeJS.Timeout | undefined;
    const arrived = new Promise<number | undefined>((resolve) => {
      waiting.set(device, resolve);
      timer = setTimeout(() => resolve(undefined), SAMPLE_TIMEOUT_MS);
    });
    const payload = JSON.stringify({
      boot: 1,
      seq: 1,
      time: new Date().toISOString(),
      temperature: 14.2,
    });
    const sentAt = Date.now();
    const t0 = performance.now();
    await client.publishAsync(topicOf(device), payload, { qos: 1 });
    const at = await arrived;
    clearTimeout(timer);
    waiting.delete(device);
    if (at === undefined) out.missing.push(device);
    else {
      out.latencies.push(at - t0);
      out.sent.push({ device, sentAt, arrivedAt: sentAt + (at - t0) });
    }
    await new Promise((r) => setTimeout(r, SAMPLE_SPACING_MS));
  }
  receiver.onHook = undefined;
  return out;
}

/** The value at percentile `p` (nearest rank) of `values`. */
export function percentile(values: readonly number[], p: number): number | undefined {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function percentiles(v: readonly number[]): {
  p50: number | undefined;
  p99: number | undefined;
} {
  return { p50: percentile(v, 50), p99: percentile(v, 99) };
}

function origin(o: AlertBenchOptions): 'burst' | 'calibration' | 'given' {
  if (o.load !== undefined) return 'given';
  return o.maxRate !== undefined ? 'burst' : 'calibration';
}

const ms = (v: number | undefined): string =>
  v === undefined ? 'n/a' : `${v.toFixed(1)} ms`;
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

function reportLines(
  r: SampleRun & {
    samples: number;
    maxRate: number;
    rate: number;
    devices: number;
    origin: 'burst' | 'calibration' | 'given';
  },
): string[] {
  const { p50, p99 } = percentiles(r.latencies);
  const max = r.latencies.length ? Math.max(...r.latencies) : undefined;
  const share =
    r.origin === 'given'
      ? 'as given'
      : `half of the maximum ${int(r.maxRate)} readings/s measured in ` +
        (r.origin === 'burst' ? 'the burst above' : 'a calibration burst here');
  return [
    'alert latency (publish of a 14.2 °C reading -> signed webhook received; immediate-level alarm, one recipient):',
    `  background load ${int(r.rate)} messages/s (1 reading each, QoS 1, ${int(r.devices)} devices), ` +
      `${share}; carried ${int(r.carried)} readings/s while sampling`,
    `  ${r.latencies.length} of ${r.samples} alarms arrived within ${SAMPLE_TIMEOUT_MS} ms: ` +
      `p50 ${ms(p50)}, p99 ${ms(p99)}, max ${ms(max)}`,
    `  most waiting while sampling: ${int(r.maxQueued.ingest)} messages in ingest, ` +
      `${int(r.maxQueued.rules)} readings for the rule engine; ingest event loop blocked ` +
      `${int(r.maxQueued.loopMs)} ms at most (its /metrics, every 0.5 s)`,
    `  machine: ${os.cpus().length} CPUs; load average ${r.loadBefore.toFixed(2)} before sampling, ${r.loadAfter.toFixed(2)} after`,
  ];
}

/** For each sample that did not arrive in time: how far it got. */
async function diagnose(client: pg.Client, devices: string[]): Promise<string[]> {
  const lines = [`  not arrived within ${SAMPLE_TIMEOUT_MS} ms:`];
  for (const device of devices) {
    const { rows } = await client.query<Record<string, unknown>>(
      `select
         (select count(*)::int from reading where device_id = $1) as readings,
         (select min(raised_at) from alarm where device_id = $1) as alarm_raised_at,
         (select max(received_at) from reading where device_id = $1) as received_at,
         (select string_agg(d.status || ' attempts=' || d.attempts
                            || coalesce(' ' || d.last_error, ''), '; ')
            from notify_delivery d join notify_alarm a on a.alarm_id = d.alarm_id
           where a.device_id = $1) as deliveries`,
      [device],
    );
    lines.push(`    ${device}: ${JSON.stringify(rows[0])}`);
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      samples: { type: 'string' },
      load: { type: 'string' },
      calibrate: { type: 'string' },
    },
  });
  const num = (v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`not a count: ${v}`);
    return n;
  };
  const samples = num(values.samples);
  const load = num(values.load);
  const calibrateN = num(values.calibrate);
  const result = await benchAlert({
    runner: 'tsx',
    ...(samples ? { samples } : {}),
    ...(load ? { load, maxRate: load * 2 } : {}),
    ...(calibrateN ? { calibrate: calibrateN } : {}),
  });
  console.log(result.lines.join('\n'));
  if (result.arrived < result.samples) process.exitCode = 1;
}
