/**
 * Alert latency: the time from an MQTT publish of an immediate-level reading
 * (above 12 °C for the default vaccine-fridge profile) to the signed webhook that
 * tells of the alarm arriving at a receiver, p50 and p99, while ingest carries a
 * background load (by default half of its measured maximum).
 *
 * `node --import tsx bench/alertLatency.ts [--samples N] [--load N] [--calibrate N]`
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
import { startPublishers, type Publishers } from './publishers.js';

const SECRET = 'alert-latency-bench-secret-0123456789';
const SAMPLE_TIMEOUT_MS = 5_000;
const SAMPLE_SPACING_MS = 150;

interface Options {
  samples: number;
  /** Background load in messages/s; 0 measures the maximum first and uses half. */
  load: number;
  /** Messages of the calibration burst that measures the maximum. */
  calibrate: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      samples: { type: 'string', default: '100' },
      load: { type: 'string', default: '0' },
      calibrate: { type: 'string', default: '60000' },
    },
  });
  const n = (v: string, name: string, max: number) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < 0 || x > max)
      throw new Error(`--${name}: 0 to ${max}`);
    return x;
  };
  return {
    samples: Math.max(1, n(values.samples, 'samples', 2000)),
    load: n(values.load, 'load', 100_000),
    calibrate: Math.max(1000, n(values.calibrate, 'calibrate', 1_000_000)),
  };
}

async function main(): Promise<void> {
  const o = options();
  const dir = mkdtempSync(join(os.tmpdir(), 'heru-alert-bench-'));
  let broker: TestBroker | undefined;
  let db: BenchDatabase | undefined;
  let receiver: MockWebhookReceiver | undefined;
  let ingest: IngestProcess | undefined;
  let load: Publishers | undefined;
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
      runner: 'tsx',
      env: { LOG_LEVEL: 'warn', NOTIFY_RATE_LIMIT: '10000' },
      logFile: join(dir, 'ingest.log'),
    });
    await addRecipient(db.url, receiver.url);

    const max = await calibrate(broker.port, db.client, o.calibrate);
    const rate = o.load || Math.max(1, Math.floor(max / 2));
    const seconds = Math.ceil((o.samples * (SAMPLE_SPACING_MS + 250)) / 1000) + 10;
    load = startPublishers(publisherJob(broker.port, 2, rate * seconds, rate, seconds));
    load.done.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 2000));
    const { latencies, missing } = await sample(broker.url, receiver, o.samples);
    report(o, max, rate, latencies);
    if (missing.length > 0) {
      await new Promise((r) => setTimeout(r, 5000));
      console.log(`not arrived within ${SAMPLE_TIMEOUT_MS} ms (state 5 s later):`);
      for (const line of await diagnose(db.client, missing)) console.log(`  ${line}`);
    }
  } finally {
    load?.stop();
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

function publisherJob(
  port: number,
  boot: number,
  messages: number,
  rate: number,
  seconds: number,
) {
  return {
    port,
    clientPrefix: `alert-bench-${boot}`,
    connections: 4,
    window: 1000,
    devices: 1000,
    messages,
    perMessage: 1,
    boot,
    rate,
    deadlineMs: (seconds + 60) * 1000,
  };
}

/** Ingest's maximum: readings committed per second during an unthrottled burst. */
async function calibrate(
  port: number,
  client: pg.Client,
  messages: number,
): Promise<number> {
  const before = await storedReadings(client);
  const t0 = performance.now();
  const pubs = startPublishers(publisherJob(port, 1, messages, 0, 300));
  await pubs.done;
  const deadline = Date.now() + 300_000;
  while ((await storedReadings(client)) - before < messages && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const stored = (await storedReadings(client)) - before;
  return stored / ((performance.now() - t0) / 1000);
}

/** Publishes one hot reading per new device and times the webhook that follows it. */
async function sample(
  brokerUrl: string,
  receiver: MockWebhookReceiver,
  n: number,
): Promise<{ latencies: number[]; missing: string[] }> {
  const client = await mqtt.connectAsync(brokerUrl, { clientId: 'alert-bench-sampler' });
  const waiting = new Map<string, (at: number) => void>();
  receiver.onHook = (hook) => {
    const device = (hook.body.alarm as { device_id?: string } | null)?.device_id;
    if (device) waiting.get(device)?.(hook.at);
  };
  const latencies: number[] = [];
  const missing: string[] = [];
  try {
    for (let i = 0; i < n; i += 1) {
      const device = `alert-${i}`;
      const arrived = new Promise<number | undefined>((resolve) => {
        waiting.set(device, resolve);
        setTimeout(() => resolve(undefined), SAMPLE_TIMEOUT_MS);
      });
      const payload = JSON.stringify({
        boot: 1,
        seq: 1,
        time: new Date().toISOString(),
        temperature: 14.2,
      });
      const t0 = performance.now();
      await client.publishAsync(`heru/v1/devices/${device}/readings`, payload, {
        qos: 1,
      });
      const at = await arrived;
      waiting.delete(device);
      if (at !== undefined) latencies.push(at - t0);
      else missing.push(device);
      await new Promise((r) => setTimeout(r, SAMPLE_SPACING_MS));
    }
  } finally {
    await client.endAsync();
  }
  return { latencies, missing };
}

/** For each sample that did not arrive in time: how far it got. */
async function diagnose(client: pg.Client, devices: string[]): Promise<string[]> {
  const lines: string[] = [];
  for (const device of devices) {
    const { rows } = await client.query<Record<string, unknown>>(
      `select
         (select count(*)::int from reading where device_id = $1) as readings,
         (select min(raised_at) from alarm where device_id = $1) as alarm_raised_at,
         (select min(received_at) from reading where device_id = $1) as received_at,
         (select min(updated_at) from notify_alarm where device_id = $1) as hub_recorded_at,
         (select string_agg(d.status || ' attempts=' || d.attempts || coalesce(' ' || d.last_error, ''), '; ')
            from notify_delivery d join notify_alarm a on a.alarm_id = d.alarm_id
           where a.device_id = $1) as deliveries,
         (select max(a.started_at + make_interval(secs => a.duration_ms / 1000.0))
            from notify_attempt a join notify_delivery d on d.id = a.delivery_id
            join notify_alarm n on n.alarm_id = d.alarm_id where n.device_id = $1) as sent_at`,
      [device],
    );
    lines.push(`${device}: ${JSON.stringify(rows[0])}`);
  }
  return lines;
}

function report(o: Options, max: number, rate: number, latencies: number[]): void {
  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  const ms = (v: number | undefined) => (v === undefined ? 'n/a' : `${v.toFixed(1)} ms`);
  console.log(`Heru alert latency, ${new Date().toISOString()}`);
  console.log(
    `machine: ${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(2)}; node ${process.version}`,
  );
  console.log(
    `ingest maximum ${max.toFixed(0)} readings/s; background load ${rate} messages/s`,
  );
  console.log(
    `samples: ${latencies.length} of ${o.samples} alarms arrived within ${SAMPLE_TIMEOUT_MS} ms`,
  );
  console.log(
    `publish -> webhook: p50 ${ms(pct(50))}, p99 ${ms(pct(99))}, max ${ms(sorted.at(-1))}`,
  );
  if (latencies.length < o.samples) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(`alert latency bench failed: ${(err as Error).message}`);
  process.exitCode = 1;
});
