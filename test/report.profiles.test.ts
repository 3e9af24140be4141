/**
 * The daily report judges each past day by the profile the device had then, from the
 * change log of the device's profile and of the profile's rules. The log is append-only
 * and dated by the server, so the story's changes are written as the profile store
 * writes them, with the dates of the story (helpers/profileHistory.ts).
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { Health } from '../src/health.js';
import { buildServer } from '../src/http/server.js';
import { createLogger } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';
import { AlarmNotifier } from '../src/alarms/notifier.js';
import type { DailyReport } from '../src/reports/daily.js';
import { authedInject, createTestToken } from './helpers/apiToken.js';
import { Feed, series } from './helpers/feed.js';
import { assignProfileAt, profileVersionsAt } from './helpers/profileHistory.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const log = createLogger('silent');
let db: TestDatabase;
let pool: Pool;
let http: FastifyInstance;
let inject: ReturnType<typeof authedInject>;

/** A reading every 10 minutes of one day, at `temperature` from `fromHour` on, else at `before`. */
function day(date: string, before: number, fromHour: number, temperature: number) {
  const temps = Array.from({ length: 144 }, (_, i) =>
    i >= fromHour * 6 ? temperature : before,
  );
  return series(`${date}T00:00:00Z`, 10, temps);
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPool(db.url, log, { max: 4 });
  await migrate(pool, log);
  const feed = new Feed(pool);

  // A fridge at 5 °C that became a freezer at noon on 2 August, at −18 °C since.
  await feed.store('moved-1', [
    ...day('2024-08-01', 5, 24, 5),
    ...day('2024-08-02', 5, 12, -18),
    ...day('2024-08-03', -18, 0, -18),
  ]);
  await assignProfileAt(pool, 'moved-1', 'freezer', new Date('2024-08-02T12:00:00Z'));

  // A shelf kept at 20 °C whose profile was tightened from 15–25 °C to 2–8 °C.
  const shelf = (low: number, high: number) => ({
    range: { low, high },
    offline: { minutes: 30 },
  });
  await profileVersionsAt(pool, 'shelf', [
    { at: new Date('2024-07-01T00:00:00Z'), rules: shelf(15, 25) },
    { at: new Date('2024-08-05T00:00:00Z'), rules: shelf(2, 8) },
  ]);
  await assignProfileAt(pool, 'shelf-1', 'shelf', new Date('2024-07-01T00:00:00Z'));
  await feed.store('shelf-1', [
    ...day('2024-08-04', 20, 24, 20),
    ...day('2024-08-05', 20, 24, 20),
  ]);

  http = buildServer({
    pool,
    log,
    health: new Health(),
    metrics: createMetrics(),
    ready: () => true,
    api: true,
    alarms: new AlarmNotifier(log),
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

describe('the daily report and profile changes', () => {
  it("judges each day by the device's profile of that day, cut where it changed", async () => {
    const r = await daily('device=moved-1&from=2024-08-01&to=2024-08-03');
    expect(r.profile).toBe('freezer');
    const fridge = { low: 2, high: 8, inclusive: true };
    const freezer = { low: -25, high: -15, inclusive: true };
    expect(
      r.days.map((d) => [d.date, d.minutes_below, d.minutes_above, d.profiles]),
    ).toEqual([
      [
        '2024-08-01',
        0,
        0,
        [
          {
            profile: 'vaccine_fridge',
            range: fridge,
            from: '2024-08-01T00:00:00.000Z',
            to: '2024-08-02T00:00:00.000Z',
          },
        ],
      ],
      [
        '2024-08-02',
        0,
        0,
        [
          {
            profile: 'vaccine_fridge',
            range: fridge,
            from: '2024-08-02T00:00:00.000Z',
            to: '2024-08-02T12:00:00.000Z',
          },
          {
            profile: 'freezer',
            range: freezer,
            from: '2024-08-02T12:00:00.000Z',
            to: '2024-08-03T00:00:00.000Z',
          },
        ],
      ],
      [
        '2024-08-03',
        0,
        0,
        [
          {
            profile: 'freezer',
            range: freezer,
            from: '2024-08-03T00:00:00.000Z',
            to: '2024-08-04T00:00:00.000Z',
          },
        ],
      ],
    ]);
    expect(r.days.map((d) => d.minutes_no_data)).toEqual([0, 0, 10]);
  });

  it("uses the profile's rules as they were on each day", async () => {
    const r = await daily('device=shelf-1&from=2024-08-04&to=2024-08-05');
    expect(
      r.days.map((d) => [
        d.date,
        d.minutes_above,
        d.profiles.map((p) => [p.profile, p.range.low, p.range.high]),
      ]),
    ).toEqual([
      ['2024-08-04', 0, [['shelf', 15, 25]]],
      ['2024-08-05', 1430, [['shelf', 2, 8]]],
    ]);
  });

  it('names the profiles of each day in the CSV', async () => {
    const res = await inject(
      '/api/v1/reports/daily?device=moved-1&from=2024-08-02&to=2024-08-02&format=csv',
    );
    const [header, line] = res.body.split('\r\n');
    expect(header).toMatch(/,profile,range_low_c,range_high_c$/);
    expect(line).toMatch(/,vaccine_fridge freezer,2 -25,8 -15$/);
  });
});
