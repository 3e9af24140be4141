/**
 * The whole server against its own Mosquitto: ingest is stopped while a device keeps
 * publishing (QoS 1, with its own clock), then started again. The outage here lasts
 * seconds, not ten minutes: the limits are scaled down with it (ALARM_OUTAGE_AFTER,
 * ALARM_LATE_AFTER of 2 s, a heat rule of 3 s).
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const DEVICE = 'e2e-fridge';
const ENV = {
  ALARM_LATE_AFTER: '2',
  ALARM_OUTAGE_AFTER: '2',
  ALARM_WATCHDOG_INTERVAL: '1',
  MQTT_CLIENT_ID: `heru-alarms-e2e-${process.pid}`,
};

let db: TestDatabase;
let broker: TestBroker;
let app: TestApp | undefined;
let device: mqtt.MqttClient;
let seq = 0;

async function publish(temperature: number, time = new Date()): Promise<void> {
  const body = { boot: 1, seq: seq++, time: time.toISOString(), temperature };
  await device.publishAsync(`heru/v1/devices/${DEVICE}/readings`, JSON.stringify(body), {
    qos: 1,
  });
}

async function alarms(): Promise<string[]> {
  const { rows } = await app!.pool.query<{ a: string }>(
    `select concat_ws(' ', kind, rule_id, state) as a from alarm order by id`,
  );
  return rows.map((r) => r.a);
}

async function put(path: string, body: object): Promise<void> {
  const res = await app!.api(path, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.ok, await res.text()).toBe(true);
}

beforeAll(async () => {
  db = await createTestDatabase();
  broker = await startBroker();
  app = await startTestApp({ databaseUrl: db.url, mqttUrl: broker.url, env: ENV });
  device = await mqtt.connectAsync(broker.url, { clientId: `dev-${process.pid}` });
  await put('/api/v1/profiles/quick_fridge', {
    rules: {
      range: { low: 2, high: 8 },
      excursions: [{ id: 'heat', direction: 'high', raise_at: 8, minutes: 0.05 }],
      offline: { minutes: 1 },
    },
    by: 'test',
  });
  await put(`/api/v1/devices/${DEVICE}/profile`, { profile: 'quick_fridge', by: 'test' });
});

afterAll(async () => {
  await device?.endAsync();
  await app?.close();
  await broker?.destroy();
  await db?.drop();
});

describe('stopping ingest and starting it again', () => {
  it('raises one operator alarm, and the readings sent meanwhile raise a historical excursion only', async () => {
    await publish(5);
    await waitFor(async () =>
      (await alarms()).length === 0 && (await stored()) === 1 ? true : undefined,
    );
    await app!.close();
    app = undefined;

    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    for (let i = 0; i < 8; i += 1) {
      await publish(9);
      await pause(500);
    }
    await publish(5);
    await pause(4000);

    app = await startTestApp({ databaseUrl: db.url, mqttUrl: broker.url, env: ENV });
    await waitFor(
      async () => ((await stored()) === 10 ? true : undefined),
      20_000,
      'the backlog',
    );
    const found = await waitFor(
      async () => {
        const a = await alarms();
        return a.some((x) => x.startsWith('historical_excursion')) ? a : undefined;
      },
      20_000,
      'the historical excursion',
    );
    expect(found.filter((a) => a.startsWith('operator'))).toEqual([
      expect.stringMatching(/^operator monitoring_gap (open|cleared)$/),
    ]);
    expect(found.filter((a) => a.startsWith('historical'))).toEqual([
      'historical_excursion heat cleared',
    ]);
    expect(found.filter((a) => !/^(operator|historical)/.test(a))).toEqual([]);
  });
});

async function stored(): Promise<number> {
  const { rows } = await app!.pool.query<{ n: number }>(
    'select count(*)::int as n from reading where device_id = $1',
    [DEVICE],
  );
  return rows[0]!.n;
}
