import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { readLoggerFile, toHeruV1 } from '../src/simulate/loggerFile.js';
import { Publisher } from '../src/simulate/publisher.js';
import { replay } from '../src/simulate/replay.js';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

// The shared data sits beside the repository (../shared/data from its root).
const DATA = fileURLToPath(new URL('../../shared/data/', import.meta.url));
const log = createLogger('silent');

describe('replaying real logger files through the broker into the server', () => {
  let db: TestDatabase;
  let broker: TestBroker;
  let app: TestApp;
  let publisher: Publisher;

  beforeAll(async () => {
    db = await createTestDatabase();
    broker = await startBroker();
    app = await startTestApp({ databaseUrl: db.url, mqttUrl: broker.url });
    await waitFor(async () =>
      (await fetch(`${app.baseUrl}/health`)).ok ? true : undefined,
    );
    publisher = await Publisher.connect(
      { url: new URL(broker.url), clientId: `replay-${app.clientId}` },
      log,
    );
  });

  afterAll(async () => {
    await publisher?.close();
    await app?.close();
    await broker?.destroy();
    await db?.drop();
  });

  const stored = async (deviceId: string): Promise<number> => {
    const { rows } = await app.pool.query<{ n: number }>(
      'select count(*)::int as n from reading where device_id = $1',
      [deviceId],
    );
    return rows[0]!.n;
  };

  const device = async (id: string): Promise<Record<string, unknown>> =>
    (await (await app.api(`/api/v1/devices/${id}`)).json()) as Record<string, unknown>;

  async function replayFile(path: string): Promise<{ deviceId: string; n: number }> {
    const file = readLoggerFile(path);
    const summary = await replay(
      toHeruV1(file.readings),
      publisher,
      { deviceId: file.deviceId },
      log,
    );
    expect(summary).toMatchObject({ complete: true, acknowledged: file.readings.length });
    return { deviceId: file.deviceId, n: file.readings.length };
  }

  it('stores all 10,653 Fridge-tag readings once, and a second replay adds none', async () => {
    const { deviceId, n } = await replayFile(`${DATA}fridgetag-2l-export.txt`);
    expect(deviceId).toBe('130500109088');
    expect(n).toBe(10_653);
    await waitFor(
      async () => ((await stored(deviceId)) === 10_653 ? true : undefined),
      30_000,
      '10,653 readings stored',
    );

    await replayFile(`${DATA}fridgetag-2l-export.txt`);
    await waitFor(
      async () =>
        (await device(deviceId)).duplicate_count === 10_653 ? true : undefined,
      30_000,
      'the second replay counted as duplicates',
    );
    expect(await stored(deviceId)).toBe(10_653);
    expect(await device(deviceId)).toMatchObject({
      reading_count: 10_653,
      duplicate_count: 10_653,
      quarantined_count: 0,
    });
  });

  it('keeps the logger’s own times and values', async () => {
    const { rows } = await app.pool.query<Record<string, unknown>>(
      `select min(time) as first, max(time) as last, min(temperature_c) as coldest,
              max(temperature_c) as warmest, count(*) filter (where time_source = 'device')::int as device_timed
       from reading where device_id = '130500109088'`,
    );
    expect(rows[0]).toEqual({
      first: new Date('2022-05-02T04:44:00Z'),
      last: new Date('2022-06-08T10:11:00Z'),
      coldest: -8.4,
      warmest: 30.2,
      device_timed: 10_653,
    });
  });

  it('stores every row of the RuuviTag CSV once', async () => {
    const { deviceId, n } = await replayFile(`${DATA}ruuvitag-fridge.csv`);
    expect(n).toBe(368);
    await waitFor(
      async () => ((await stored(deviceId)) === n ? true : undefined),
      30_000,
      'every RuuviTag row stored',
    );
    await replayFile(`${DATA}ruuvitag-fridge.csv`);
    await waitFor(
      async () => ((await device(deviceId)).duplicate_count === n ? true : undefined),
      30_000,
      'the second RuuviTag replay counted as duplicates',
    );
    expect(await stored(deviceId)).toBe(n);
    const { rows } = await app.pool.query<Record<string, unknown>>(
      `select temperature_c, humidity_pct, battery_v, rssi_dbm, time from reading
       where device_id = $1 and seq = 0`,
      [deviceId],
    );
    expect(rows[0]).toEqual({
      temperature_c: 1.73,
      humidity_pct: 44.2,
      battery_v: 2.917,
      rssi_dbm: -96,
      time: new Date('2020-05-05T07:21:56Z'),
    });
  });
});
