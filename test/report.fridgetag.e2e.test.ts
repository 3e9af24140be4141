/**
 * Replays the export of a real Berlinger Fridge-tag 2 L (../shared/data) into the
 * rule engine, as if its readings had arrived live, and compares what the server
 * makes of them with what the logger itself recorded in its `Hist:` section: per day
 * the minimum, maximum and average, the minutes in each alarm zone, and when each
 * alarm was active. The device gets a profile set up as the logger was (`Conf:`):
 * alarm 0 below +2.0 °C for 60 min, alarm 1 above +8.0 °C for 60 min.
 *
 * Differences that cannot be removed, and the bounds asserted for them: the logger
 * measures every minute but logs every 5 minutes, so
 * - its minimum and maximum may come from a measurement between two logged ones:
 *   ours lie within its extremes, and at most 0.5 °C inside them;
 * - its average is over its 1-minute measurements, cut (not rounded) to 0.1 °C:
 *   ours is within 0.15 °C of it;
 * - a crossing of a limit is placed by the logger to the minute, by us at the logged
 *   reading after it: minutes in a zone agree within 5 minutes per crossing, and an
 *   alarm starts within 5 minutes of the logger's.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAlarmConfig } from '../src/alarms/config.js';
import { AlarmEngine } from '../src/alarms/engine.js';
import { AlarmNotifier } from '../src/alarms/notifier.js';
import { parseRules } from '../src/alarms/profile.js';
import { putProfile, setDeviceProfile } from '../src/alarms/profileStore.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { Health } from '../src/health.js';
import { buildServer } from '../src/http/server.js';
import { createLogger } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';
import type { DailyReport, DailyRow } from '../src/reports/daily.js';
import { readLoggerFile } from '../src/simulate/loggerFile.js';
import type { LoggedReading } from '../src/simulate/loggedReading.js';
import { authedInject, createTestToken } from './helpers/apiToken.js';
import { Feed, type SentReading } from './helpers/feed.js';
import { assignProfileAt } from './helpers/profileHistory.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const FILE = fileURLToPath(
  new URL('../../shared/data/fridgetag-2l-export.txt', import.meta.url),
);
const DEVICE = 'fridgetag-130500109088';
const LATE_DEVICE = 'fridgetag-late';
const INTERVAL_MIN = 5;
const log = createLogger('silent');

/** The logger's own day: `Hist:` of the export. */
interface HistDay {
  date: string;
  min: number;
  max: number;
  avg: number;
  /** Minutes in alarm zone 0 (below +2.0 °C) and 1 (above +8.0 °C); when each was first active that day. */
  acc: [number, number];
  alarmAt: [string | null, string | null];
}

function parseHist(text: string): HistDay[] {
  const hist = text.slice(text.indexOf('\nHist:'), text.indexOf('\nData:'));
  return hist
    .split(/\n (?=\d+:)/)
    .slice(1)
    .map((block) => {
      const num = (re: RegExp): number => Number(re.exec(block)![1]);
      const zones = [...block.matchAll(/t Acc: (\d+)(?:, TS A: (\d\d:\d\d))?/g)];
      return {
        date: /Date: (\S+)/.exec(block)![1]!,
        min: num(/Min T: ([-+\d.]+)/),
        max: num(/Max T: ([-+\d.]+)/),
        avg: num(/Avrg T: ([-+\d.]+)/),
        acc: [Number(zones[0]![1]), Number(zones[1]![1])],
        alarmAt: [zones[0]![2] ?? null, zones[1]![2] ?? null],
      };
    });
}

const FRIDGE_TAG_RULES = parseRules({
  range: { low: 2, high: 8, inclusive: false },
  excursions: [
    { id: 'cold', direction: 'low', raise_at: 2, inclusive: false, minutes: 60 },
    { id: 'heat', direction: 'high', raise_at: 8, inclusive: false, minutes: 60 },
  ],
  offline: { minutes: 30 },
});

let db: TestDatabase;
let pool: Pool;
let engine: AlarmEngine;
let http: FastifyInstance;
/** Requests with a viewer token: reports are read by anyone with a token. */
let inject: ReturnType<typeof authedInject>;
let hist: HistDay[];
let logged: LoggedReading[];
let report: DailyReport;

async function replay(deviceId: string, readings: SentReading[]): Promise<void> {
  const feed = new Feed(pool);
  for (let i = 0; i < readings.length; i += 500) {
    engine.onStored(await feed.store(deviceId, readings.slice(i, i + 500)));
    await engine.idle();
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPool(db.url, log, { max: 4 });
  await migrate(pool, log);
  hist = parseHist(readFileSync(FILE, 'utf8').replace(/\r\n/g, '\n'));
  logged = readLoggerFile(FILE, { tz: 'UTC', deviceId: DEVICE }).readings;
  const profile = {
    kind: 'custom' as const,
    description: 'As the Fridge-tag was set up',
  };
  await putProfile(
    pool,
    { name: 'fridge_tag', ...profile, rules: FRIDGE_TAG_RULES },
    'test',
    null,
  );
  // Set up before the logger's first reading: the report judges each day by the
  // profile the device had on that day.
  await assignProfileAt(pool, DEVICE, 'fridge_tag', new Date(logged[0]!.timeMs - 60_000));
  await setDeviceProfile(pool, LATE_DEVICE, 'fridge_tag', 'test', null);
  const notifier = new AlarmNotifier(log);
  engine = new AlarmEngine(pool, notifier, readAlarmConfig({}), log);
  const live = logged.map((r) => ({
    time: new Date(r.timeMs),
    temperature: r.temperature,
  }));
  await replay(DEVICE, live);
  http = buildServer({
    pool,
    log,
    health: new Health(),
    metrics: createMetrics(),
    ready: () => true,
    api: true,
    alarms: notifier,
  });
  inject = authedInject(http, await createTestToken(pool, 'viewer'));
  const res = await inject(
    `/api/v1/reports/daily?device=${DEVICE}&from=2022-05-02&to=2022-06-08`,
  );
  expect(res.statusCode).toBe(200);
  report = res.json<DailyReport>();
}, 120_000);

afterAll(async () => {
  await http?.close();
  await engine?.close();
  await pool?.end();
  await db?.drop();
});

function ourDay(date: string): DailyRow {
  const day = report.days.find((d) => d.date === date);
  if (!day) throw new Error(`no report for ${date}`);
  return day;
}

/** Times the logged temperature crossed a limit on `date` (UTC). */
function crossings(date: string, out: (t: number) => boolean): number {
  let n = 0;
  for (let i = 1; i < logged.length; i += 1) {
    const [a, b] = [logged[i - 1]!, logged[i]!];
    const day = new Date(b.timeMs).toISOString().slice(0, 10);
    if (day === date && out(a.temperature) !== out(b.temperature)) n += 1;
  }
  return n;
}

describe('replaying the Fridge-tag 2 L export', () => {
  it('reports the 38 days of the logger, each with its readings', () => {
    expect(hist).toHaveLength(38);
    expect(report.days.map((d) => d.date)).toEqual(hist.map((h) => h.date).reverse());
    expect(report.days.reduce((a, d) => a + d.readings, 0)).toBe(10_653);
  });

  it("gives each day's minimum, maximum and mean within the logger's own", () => {
    for (const h of hist) {
      const d = ourDay(h.date);
      const where = `${h.date}: ours ${d.min_c}/${d.max_c}/${d.mean_c}, logger ${h.min}/${h.max}/${h.avg}`;
      expect(d.min_c! >= h.min && d.min_c! <= h.min + 0.5, where).toBe(true);
      expect(d.max_c! <= h.max && d.max_c! >= h.max - 0.5, where).toBe(true);
      expect(Math.abs(d.mean_c! - h.avg), where).toBeLessThan(0.15);
    }
  });

  it('counts the minutes above +8.0 °C and below +2.0 °C of each day as the logger did', () => {
    let ours = 0;
    let theirs = 0;
    for (const h of hist) {
      const d = ourDay(h.date);
      const zones = [
        { mine: d.minutes_below, logger: h.acc[0], out: (t: number) => t < 2 },
        { mine: d.minutes_above, logger: h.acc[1], out: (t: number) => t > 8 },
      ];
      for (const z of zones) {
        const bound = INTERVAL_MIN * Math.max(1, crossings(h.date, z.out));
        const where = `${h.date}: ours ${z.mine} min, logger ${z.logger} min, bound ${bound}`;
        expect(Math.abs(z.mine - z.logger), where).toBeLessThanOrEqual(bound);
        ours += z.mine;
        theirs += z.logger;
      }
    }
    expect(Math.abs(ours - theirs) / theirs).toBeLessThan(0.005);
  });

  it("raises the logger's alarms on the same days, within 5 minutes of its alarm times", () => {
    for (const [zone, rule] of [
      [0, 'cold'],
      [1, 'heat'],
    ] as const) {
      const fromLogger = hist
        .filter((h) => h.alarmAt[zone] !== null)
        .map((h) => `${h.date} ${h.alarmAt[zone]}`)
        .sort();
      const fromUs = report.days
        .map((d) => firstActive(d, rule))
        .filter((x): x is string => x !== null);
      expect(
        fromUs.map((x) => x.slice(0, 10)),
        `days of alarm ${zone}`,
      ).toEqual(fromLogger.map((x) => x.slice(0, 10)));
      fromUs.forEach((x, i) => {
        const diff = Math.abs(Date.parse(`${x}Z`) - Date.parse(`${fromLogger[i]}Z`));
        expect(diff, `${x} vs ${fromLogger[i]}`).toBeLessThanOrEqual(
          INTERVAL_MIN * 60_000,
        );
      });
    }
  });

  it('raises one alarm per episode: each spans one unbroken run out of range', async () => {
    const { rows } = await pool.query<{ rule_id: string; since: Date; until: Date }>(
      `select rule_id, since, until from alarm where device_id = $1 order by since`,
      [DEVICE],
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const a of rows) {
      const out = a.rule_id === 'heat' ? (t: number) => t > 8 : (t: number) => t < 2;
      const inside = logged.filter(
        (r) => r.timeMs >= a.since.getTime() && r.timeMs < a.until.getTime(),
      );
      expect(inside.every((r) => out(r.temperature))).toBe(true);
      const end = logged.find((r) => r.timeMs === a.until.getTime());
      expect(end && !out(end.temperature)).toBe(true);
    }
    const byRule = (id: string) => rows.filter((r) => r.rule_id === id);
    // The logger's Hist counts no episodes; these are the runs of its Data: section that
    // were still out of range 60 minutes after their first reading out.
    expect({ heat: byRule('heat').length, cold: byRule('cold').length }).toEqual({
      heat: 19,
      cold: 4,
    });
  });

  it('serves the same days as CSV', async () => {
    const res = await inject({
      url: `/api/v1/reports/daily?device=${DEVICE}&from=2022-05-05&to=2022-05-06`,
      headers: { accept: 'text/csv' },
    });
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const lines = res.body.trim().split('\r\n');
    expect(lines[0]).toBe(
      'device_id,sensor,date,readings,invalid_readings,min_c,max_c,mean_c,mkt_c,' +
        'minutes_below,minutes_above,minutes_no_data,gaps,alarms,alarm_ids,profile,' +
        'range_low_c,range_high_c',
    );
    expect(lines[1]).toMatch(
      new RegExp(
        `^${DEVICE},,2022-05-05,288,0,5,12.4,7.1,[\\d.]+,0,385,0,0,1,\\d+,fridge_tag,2,8$`,
      ),
    );
  });

  it('records the same episodes as historical excursions when replayed long after', async () => {
    const now = new Date();
    const late = logged.map((r) => ({
      time: new Date(r.timeMs),
      temperature: r.temperature,
      receivedAt: now,
    }));
    await replay(LATE_DEVICE, late);
    const spans = async (deviceId: string, historical: boolean) =>
      (
        await pool.query<{ span: string }>(
          `select rule_id || ' ' || since || ' ' || coalesce(until::text, '-') as span
           from alarm where device_id = $1 and historical = $2 order by since, rule_id`,
          [deviceId, historical],
        )
      ).rows.map((r) => r.span);
    expect(await spans(LATE_DEVICE, false)).toEqual([]);
    expect(await spans(LATE_DEVICE, true)).toEqual(await spans(DEVICE, false));
  });
});

/** When the day's first alarm of `rule` was active (reached, not yet over), `YYYY-MM-DD hh:mm`. */
function firstActive(day: DailyRow, rule: string): string | null {
  const start = Date.parse(`${day.date}T00:00:00Z`);
  const end = start + 86_400_000;
  const times = day.alarms
    .filter((a) => a.rule_id === rule && a.reached_at !== null)
    .map((a) => ({
      from: Date.parse(a.reached_at!),
      to: a.until ? new Date(a.until).getTime() : Infinity,
    }))
    .filter((a) => a.from < end && a.to > start)
    .map((a) => Math.max(a.from, start));
  if (times.length === 0) return null;
  return new Date(Math.min(...times)).toISOString().slice(0, 16).replace('T', ' ');
}
