import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAlarmConfig } from '../src/alarms/config.js';
import { AlarmEngine } from '../src/alarms/engine.js';
import { AlarmNotifier } from '../src/alarms/notifier.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { Health } from '../src/health.js';
import { buildServer } from '../src/http/server.js';
import { createLogger } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';
import { dailyReport, type DailyReport } from '../src/reports/daily.js';
import type { MktReport } from '../src/reports/mktReport.js';
import { authedInject, createTestToken } from './helpers/apiToken.js';
import { Feed, series } from './helpers/feed.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const log = createLogger('silent');
let db: TestDatabase;
let pool: Pool;
let http: FastifyInstance;
/** Requests with a viewer token: reports are read by anyone with a token. */
let inject: ReturnType<typeof authedInject>;

/**
 * Two days of a fridge read every 10 minutes at 5 °C; on the first, 9 °C from 12:00
 * to 13:00 (an excursion of 70 minutes: the 13:00 reading stands until 13:10); on the
 * second, nothing from 06:00 to 08:00, and the data end at 23:50.
 */
function twoDays(): ReturnType<typeof series> {
  const temps = Array.from({ length: 288 }, (_, i) => (i >= 72 && i <= 78 ? 9 : 5));
  return series('2024-07-01T00:00:00Z', 10, temps).filter((r) => {
    const t = new Date(r.time).toISOString();
    return !(t >= '2024-07-02T06:00' && t < '2024-07-02T08:00');
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPool(db.url, log, { max: 4 });
  await migrate(pool, log);
  const notifier = new AlarmNotifier(log);
  const engine = new AlarmEngine(pool, notifier, readAlarmConfig({}), log);
  engine.onStored(await new Feed(pool).store('rep-1', twoDays()));
  await engine.close();
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
});

afterAll(async () => {
  await http?.close();
  await pool?.end();
  await db?.drop();
});

async function daily(query: string): Promise<DailyReport> {
  const res = await inject(`/api/v1/reports/daily?${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json<DailyReport>();
}

describe('GET /api/v1/reports/daily', () => {
  it('gives each day its readings, extremes, mean, MKT, minutes out of range, gaps and alarms', async () => {
    const r = await daily('device=rep-1&from=2024-07-01&to=2024-07-02');
    expect(r.profile).toBe('vaccine_fridge');
    const [first, second] = r.days;
    expect(first).toMatchObject({
      date: '2024-07-01',
      readings: 144,
      min_c: 5,
      max_c: 9,
      mean_c: 5.19,
      minutes_below: 0,
      minutes_above: 70,
      minutes_no_data: 0,
      gaps: [],
    });
    expect(first!.alarms.map((a) => [a.rule_id, a.since, a.until])).toEqual([
      ['heat', '2024-07-01T12:00:00.000Z', '2024-07-01T13:10:00.000Z'],
    ]);
    expect(first!.mkt_c).toBeGreaterThan(first!.mean_c!);
    expect(second).toMatchObject({
      date: '2024-07-02',
      readings: 132,
      mean_c: 5,
      mkt_c: 5,
      minutes_above: 0,
      minutes_no_data: 140,
      gaps: [
        {
          from: '2024-07-02T05:50:00.000Z',
          to: '2024-07-02T08:00:00.000Z',
          minutes: 130,
        },
        { from: '2024-07-02T23:50:00.000Z', to: '2024-07-03T00:00:00.000Z', minutes: 10 },
      ],
      alarms: [],
    });
  });

  it('counts today up to now only, and gives no row for days to come', async () => {
    // "Now" is 2024-07-02 at 12:00 UTC: the day's gap from 06:00 to 08:00 (130
    // minutes, from the last reading's end) is all it lacks so far; its afternoon is
    // not minutes without data, and 2024-07-03 has not begun.
    const r = await dailyReport(
      pool,
      { deviceId: 'rep-1', from: '2024-07-02', to: '2024-07-03', tz: 'UTC' },
      Date.parse('2024-07-02T12:00:00Z'),
    );
    expect(r!.days.map((d) => [d.date, d.minutes_no_data])).toEqual([
      ['2024-07-02', 130],
    ]);
  });

  it('cuts the days at local midnight of the time zone asked for', async () => {
    const r = await daily('device=rep-1&from=2024-07-01&to=2024-07-01&tz=Europe/Zurich');
    expect(r.days[0]).toMatchObject({ readings: 132, minutes_no_data: 120 });
  });

  it('answers CSV when asked with format=csv', async () => {
    const res = await inject(
      '/api/v1/reports/daily?device=rep-1&from=2024-07-01&to=2024-07-02&format=csv',
    );
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    const lines = res.body.split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(
      /^rep-1,,2024-07-02,132,0,5,5,5,5,0,0,140,2,0,,vaccine_fridge,2,8$/,
    );
  });

  it('answers 400 or 404 with what to change', async () => {
    const cases: Array<[string, number, string]> = [
      ['', 400, '`device` is required'],
      ['device=nobody', 404, 'No device'],
      ['device=rep-1&from=2024-02-30', 400, '`from` must be a date'],
      [
        'device=rep-1&from=2024-07-02&to=2024-07-01',
        400,
        '`from` must not be after `to`',
      ],
      ['device=rep-1&from=2023-01-01&to=2024-07-01', 400, 'at most 366 days'],
      ['device=rep-1&tz=Mars/Olympus', 400, '`tz` must be an IANA time zone'],
      ['device=rep-1&format=xml', 400, '`format` must be json or csv'],
    ];
    for (const [query, status, text] of cases) {
      const res = await inject(`/api/v1/reports/daily?${query}`);
      expect(res.statusCode, query).toBe(status);
      expect(res.json<{ error: { message: string } }>().error.message, query).toContain(
        text,
      );
    }
  });
});

describe('GET /api/v1/reports/mkt', () => {
  it('gives the MKT of the last 24 hours and 30 days with how much of each the readings cover', async () => {
    const res = await inject('/api/v1/reports/mkt?device=rep-1&at=2024-07-03T00:00:00Z');
    const r = res.json<MktReport>();
    const [day, month] = r.sensors[0]!.windows;
    expect(day).toMatchObject({ window: '24h', mkt_c: 5, covered: 0.903 });
    expect(month!.window).toBe('30d');
    expect(month!.mkt_c).toBeGreaterThan(5);
    expect(month!.covered).toBeCloseTo((2880 - 140) / (30 * 1440), 3);
  });
});
