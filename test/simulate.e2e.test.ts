import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { SimDevice, type Emission } from '../src/simulate/device.js';
import { heruV1Messages } from '../src/simulate/payload.js';
import { Publisher } from '../src/simulate/publisher.js';
import { Random } from '../src/simulate/random.js';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const MINUTE = 60_000;
const DAY_READINGS = 24 * 60;

describe('a simulated day of faults and offline periods, through the server', () => {
  let db: TestDatabase;
  let broker: TestBroker;
  let app: TestApp;
  let publisher: Publisher;
  const bursts: Emission[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    broker = await startBroker();
    app = await startTestApp({ databaseUrl: db.url, mqttUrl: broker.url });
    await waitFor(async () =>
      (await fetch(`${app.baseUrl}/health`)).ok ? true : undefined,
    );
    publisher = await Publisher.connect(
      { url: new URL(broker.url), clientId: `sim-${app.clientId}` },
      createLogger('silent'),
    );

    // Yesterday, one reading a minute, in device time: what a day of the device sends.
    const device = new SimDevice({
      id: 'sim-day',
      random: new Random(11),
      faults: true,
      offline: true,
      excursions: true,
    });
    const start = Date.now() - 2 * DAY_READINGS * MINUTE;
    const sent: Promise<void>[] = [];
    for (let k = 0; k <= DAY_READINGS; k++) {
      const out = k < DAY_READINGS ? device.tick(start + k * MINUTE) : device.flush();
      for (const e of out) {
        if (e.burst) bursts.push(e);
        for (const m of heruV1Messages(device.id, e.readings))
          sent.push(publisher.publish(m));
      }
    }
    await Promise.all(sent);
  });

  afterAll(async () => {
    await publisher?.close();
    await app?.close();
    await broker?.destroy();
    await db?.drop();
  });

  const query = async (sql: string): Promise<Record<string, unknown>[]> =>
    (await app.pool.query<Record<string, unknown>>(sql)).rows;

  it('stores every reading once, the buffered bursts included', async () => {
    expect(bursts.length).toBeGreaterThan(3);
    await waitFor(
      async () => {
        const [row] = await query(
          `select count(*)::int as n from reading where device_id = 'sim-day'`,
        );
        return row?.n === DAY_READINGS ? true : undefined;
      },
      20_000,
      'a day of readings stored',
    );
  });

  it('keeps each buffered reading at its own device time', async () => {
    const b = bursts[0]!;
    const first = b.readings[0]!;
    const last = b.readings.at(-1)!;
    const rows = await query(
      `select time, time_source from reading where device_id = 'sim-day'
         and (boot, seq) in ((${first.boot}, ${first.seq}), (${last.boot}, ${last.seq}))
       order by time`,
    );
    expect(rows).toEqual([
      { time: new Date(first.time), time_source: 'device' },
      { time: new Date(last.time), time_source: 'device' },
    ]);
  });

  it('stores the sensor faults as readings without a temperature, with their flags', async () => {
    const rows = await query(
      `select unnest(flags) as flag, count(*)::int as n from reading
       where device_id = 'sim-day' and temperature_c is null group by 1 order by 1`,
    );
    const flags = rows.map((r) => r.flag);
    expect(flags).toEqual(
      expect.arrayContaining([
        'power_on_value',
        'sensor_disconnected',
        'temperature_missing',
      ]),
    );
    const [bad] = await query(
      `select count(*)::int as n from reading
       where device_id = 'sim-day' and temperature_c in (-127, 85)`,
    );
    expect(bad?.n).toBe(0);
  });
});
