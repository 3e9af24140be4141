/**
 * Scenario 7: 200 devices come back at once after an outage and each flushes the
 * 2,000 readings it buffered (400,000 readings, 16 hours of them each), in backlog
 * messages of 100. Every reading must be stored once, read back through the API in
 * device-time order, anchored once; the excursions the buffers hold must come out as
 * historical excursions and nothing else; and the server's resident memory, sampled
 * from /proc all along, must stay under 300 MB.
 */
import { join } from 'node:path';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { buildIngest } from '../../bench/ingestProcess.js';
import { statusKb } from '../../bench/procStats.js';
import { createToken } from '../../src/auth/tokenStore.js';
import { ledgerMessagesByBatch, pinsByCid } from '../helpers/anchor.js';
import {
  flushDevices,
  RssSampler,
  type BufferedReading,
  type FlushingDevice,
} from '../helpers/deviceFlush.js';
import {
  anchorCounts,
  anchoredBatches,
  anchoredTwice,
  pollUntil,
  storedCounts,
} from '../helpers/exactlyOnce.js';
import { useFaultRig } from '../helpers/faultRig.js';
import { recordFigures } from './figures.js';

const DEVICES = 200;
const PER_DEVICE = 2_000;
const PER_MESSAGE = 100;
const TOTAL = DEVICES * PER_DEVICE;
const STEP_MS = 30_000;
/** Devices whose buffer holds a warm spell: readings 640–819 at 9 °C (90 min). */
const WARM = { every: 20, from: 640, to: 820 };
/**
 * Odd devices send their newest readings first, so the API's order cannot come from the
 * order of arrival; so do the devices with a warm spell, whose spell is split over
 * three messages and must still make one historical excursion.
 */
const NEWEST_FIRST = (d: number): boolean => d % 2 === 1 || d % WARM.every === 0;
/** Devices that send their first message twice, as after a PUBACK lost on the way. */
const REPEATS_FIRST = (d: number): boolean => d % 10 === 5;
const RSS_LIMIT_KB = 300 * 1024;

const deviceId = (d: number): string => `flush-${String(d).padStart(3, '0')}`;

/** The buffer of device `d`: a reading every 30 s, the last one 10 minutes ago. */
function bufferOf(d: number, endMs: number): BufferedReading[] {
  return Array.from({ length: PER_DEVICE }, (_, k) => ({
    timeMs: endMs - (PER_DEVICE - 1 - k) * STEP_MS,
    temperature:
      d % WARM.every === 0 && k >= WARM.from && k < WARM.to ? 9 : 4 + ((d + k) % 20) / 10,
  }));
}

function devicesFlushing(endMs: number): FlushingDevice[] {
  return Array.from({ length: DEVICES }, (_, d) => {
    const buffer = bufferOf(d, endMs);
    const messages: BufferedReading[][] = [];
    for (let i = 0; i < PER_DEVICE; i += PER_MESSAGE)
      messages.push(buffer.slice(i, i + PER_MESSAGE));
    if (NEWEST_FIRST(d)) messages.reverse();
    if (REPEATS_FIRST(d)) messages.push(messages[0]!);
    return { id: deviceId(d), messages };
  });
}

interface AlarmJson {
  device_id: string;
  kind: string;
  rule_id: string;
  historical: boolean;
  state: string;
  since: string;
  until: string | null;
}

describe('scenario 7: 200 devices reconnect at once and flush 2,000 buffered readings each', () => {
  const rig = useFaultRig('fault7');

  it('stores, orders, anchors and alarms on all 400,000 once, under 300 MB', async () => {
    // Memory is measured on the server as installed: src/ compiled to JavaScript,
    // not run through the TypeScript loader (which adds about 80 MB).
    const build = join(rig.dataDir, 'build');
    buildIngest(build);
    const server = await rig.server({
      clientId: 'heru-fault7-ingest',
      compiledIn: build,
      env: { ALARM_WATCHDOG_INTERVAL: '5' },
    });
    const rss = new RssSampler(
      () => server.pid,
      (pid) => statusKb(pid, 'VmRSS'),
    );
    rss.start();
    const endMs = Date.now() - 10 * 60_000;
    const devices = devicesFlushing(endMs);

    const started = Date.now();
    const sent = await flushDevices(rig.broker.url, devices, { timeoutMs: 240_000 });
    const publishedS = (Date.now() - started) / 1000;
    const stored = await pollUntil(
      () => storedCounts(rig.sql),
      (c) => c.readings >= TOTAL,
      240_000,
      `${TOTAL} stored readings`,
    );
    const storedS = (Date.now() - started) / 1000;
    const anchor = await pollUntil(
      () => anchorCounts(rig.sql),
      (c) => c.pendingReadings === 0 && c.anchoredBatches === c.batches,
      240_000,
      'every reading anchored',
      1_000,
    );
    const anchoredS = (Date.now() - started) / 1000;
    // The rule engine follows ingest on its own: its state says what it has seen.
    await pollUntil(
      () => evaluatedDevices(rig.sql),
      (n) => n === DEVICES,
      120_000,
      'every device evaluated through its last reading',
    );
    rss.sample();
    rss.stop();
    const peakKb = Math.max(rss.maxKb, statusKb(server.pid!, 'VmHWM') ?? 0);

    const perBatch = await ledgerMessagesByBatch(rig.sql);
    const batches = await anchoredBatches(rig.sql);
    const pins = await pinsByCid(rig.dataDir);
    const alarms = await listAlarms(server.baseUrl, await token(rig.sql));
    const order = await apiOrder(server.baseUrl, await token(rig.sql), endMs);
    const repeats = devices.filter((_, d) => REPEATS_FIRST(d)).length;

    await recordFigures({
      scenario: '7 200 devices flush 400k',
      sent: TOTAL,
      stored: stored.readings - stored.duplicates,
      duplicates: stored.duplicates,
      lost: TOTAL - (stored.readings - stored.duplicates),
      anchored: batches.length,
      anchoredTwice: anchoredTwice(perBatch),
      notes:
        `${sent.messages} messages (${repeats} repeated); published ${publishedS.toFixed(0)} s, ` +
        `stored ${storedS.toFixed(0)} s, anchored ${anchoredS.toFixed(0)} s; ` +
        `peak RSS ${(peakKb / 1024).toFixed(0)} MB (${rss.samples} samples); ` +
        `${alarms.length} alarms`,
    });

    expect(sent.messages).toBe(DEVICES * (PER_DEVICE / PER_MESSAGE) + repeats);
    expect(stored).toEqual({ readings: TOTAL, duplicates: 0 });
    expect(await outcomes(rig.sql)).toEqual({
      stored: DEVICES * (PER_DEVICE / PER_MESSAGE),
      duplicate: repeats,
    });
    expect(order).toEqual({ devices: DEVICES, readings: TOTAL, outOfOrder: 0 });

    expect(anchor.orphanReadings).toBe(0);
    expect(anchor.miscountedBatches).toBe(0);
    expect(anchor.anchoredReadings).toBe(TOTAL);
    expect(batches.map((b) => perBatch.get(b.id))).toEqual(batches.map(() => 1));
    expect(perBatch.size).toBe(batches.length);
    expect(batches.map((b) => pins.get(b.cid))).toEqual(batches.map(() => 1));

    const warm = Array.from({ length: DEVICES }, (_, d) => d).filter(
      (d) => d % WARM.every === 0,
    );
    const at = (k: number): string =>
      new Date(endMs - (PER_DEVICE - 1 - k) * STEP_MS).toISOString();
    expect(alarms.map(brief).sort(byDevice)).toEqual(
      warm.map((d) => ({
        device_id: deviceId(d),
        kind: 'historical_excursion',
        rule_id: 'heat',
        historical: true,
        state: 'cleared',
        since: at(WARM.from),
        until: at(WARM.to),
      })),
    );
    expect(peakKb).toBeLessThan(RSS_LIMIT_KB);
  }, 600_000);
});

const brief = (a: AlarmJson): AlarmJson => ({
  device_id: a.device_id,
  kind: a.kind,
  rule_id: a.rule_id,
  historical: a.historical,
  state: a.state,
  since: new Date(a.since).toISOString(),
  until: a.until === null ? null : new Date(a.until).toISOString(),
});

const byDevice = (a: AlarmJson, b: AlarmJson): number =>
  a.device_id.localeCompare(b.device_id) || a.since.localeCompare(b.since);

let made: string | undefined;
async function token(sql: pg.Pool): Promise<string> {
  made ??= (await createToken(sql, { name: 'fault7-viewer', role: 'viewer', by: 'test' }))
    .token;
  return made;
}

async function getJson<T>(baseUrl: string, path: string, bearer: string): Promise<T> {
  const res = await fetch(`${baseUrl}${path}`, {
    headers: { authorization: `Bearer ${bearer}` },
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Every alarm, through the API. */
async function listAlarms(baseUrl: string, bearer: string): Promise<AlarmJson[]> {
  const all: AlarmJson[] = [];
  let before: string | null = null;
  do {
    const q: string = `/api/v1/alarms?limit=1000${before ? `&before=${before}` : ''}`;
    const page = await getJson<{ alarms: AlarmJson[]; next: string | null }>(
      baseUrl,
      q,
      bearer,
    );
    all.push(...page.alarms);
    before = page.next;
  } while (before);
  return all;
}

/**
 * Reads every device's readings through the API, page by page, and counts those
 * whose time is not after the one before (the API must give device-time order).
 */
async function apiOrder(
  baseUrl: string,
  bearer: string,
  endMs: number,
): Promise<{ devices: number; readings: number; outOfOrder: number }> {
  const from = new Date(endMs - PER_DEVICE * STEP_MS).toISOString();
  const to = new Date(endMs + 1000).toISOString();
  let readings = 0;
  let outOfOrder = 0;
  for (let d = 0; d < DEVICES; d += 1) {
    let cursor: string | null = null;
    let last = -Infinity;
    do {
      const path: string =
        `/api/v1/devices/${deviceId(d)}/readings?from=${from}&to=${to}&limit=10000` +
        (cursor ? `&cursor=${cursor}` : '');
      const page = await getJson<{
        readings: Array<{ time: string; time_source: string }>;
        next: string | null;
      }>(baseUrl, path, bearer);
      for (const r of page.readings) {
        const t = Date.parse(r.time);
        if (t <= last || r.time_source !== 'device') outOfOrder += 1;
        last = t;
      }
      readings += page.readings.length;
      cursor = page.next;
    } while (cursor);
  }
  return { devices: DEVICES, readings, outOfOrder };
}

async function outcomes(sql: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await sql.query<{ outcome: string; n: number }>(
    'select outcome, count(*)::int as n from raw_message group by outcome',
  );
  return Object.fromEntries(rows.map((r) => [r.outcome, r.n]));
}

/** Devices whose rule state has taken in readings received after their last one was sent. */
async function evaluatedDevices(sql: pg.Pool): Promise<number> {
  const { rows } = await sql.query<{ n: number }>(
    `select count(*)::int as n from alarm_device_state s
     where s.evaluated_through >= (select max(received_at) from reading r
                                   where r.device_id = s.device_id)`,
  );
  return rows[0]!.n;
}
