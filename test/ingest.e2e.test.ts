import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const FIRMWARE_PAYLOAD =
  '{"device_id": "esp32_sensor_01","temperature": 23.45,"humidity": 45.60}';

describe('ingest from MQTT into PostgreSQL', () => {
  let db: TestDatabase;
  let broker: TestBroker;
  let app: TestApp;
  let publisher: mqtt.MqttClient;

  beforeAll(async () => {
    db = await createTestDatabase();
    broker = await startBroker();
    app = await startTestApp({ databaseUrl: db.url, mqttUrl: broker.url });
    publisher = await mqtt.connectAsync(broker.url, { clientId: `pub-${app.clientId}` });
    await waitFor(async () =>
      (await fetch(`${app.baseUrl}/health`)).ok ? true : undefined,
    );
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await app?.close();
    await broker?.destroy();
    await db?.drop();
  });

  it('stores the Heru firmware payload, sent at QoS 0, as one reading', async () => {
    await publisher.publishAsync('heru/sensors/esp32_sensor_01', FIRMWARE_PAYLOAD, {
      qos: 0,
    });
    const row = await waitFor(async () => {
      const { rows } = await app.pool.query(
        `select device_id, temperature_c, humidity_pct, time_source, quality
         from reading where device_id = 'esp32_sensor_01'`,
      );
      return rows[0] as Record<string, unknown> | undefined;
    });
    expect(row).toEqual({
      device_id: 'esp32_sensor_01',
      temperature_c: 23.45,
      humidity_pct: 45.6,
      time_source: 'server',
      quality: 'good',
    });
  });

  it('answers /health with 200 and one entry per dependency', async () => {
    const res = await fetch(`${app.baseUrl}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { checks: Record<string, { status: string }> };
    expect(Object.keys(body.checks).sort()).toEqual([
      'credentials',
      'ingest',
      'mqtt',
      'notify',
      'postgres',
    ]);
    expect(body.checks.mqtt?.status).toBe('ok');
  });

  it('lists the device and its readings through the API', async () => {
    const devices = (await (await app.api(`/api/v1/devices`)).json()) as {
      devices: Array<{ device_id: string; reading_count: number }>;
    };
    expect(
      devices.devices.find((d) => d.device_id === 'esp32_sensor_01')?.reading_count,
    ).toBe(1);
    const page = (await (
      await app.api(`/api/v1/devices/esp32_sensor_01/readings`)
    ).json()) as { readings: Array<{ temperature_c: number }> };
    expect(page.readings.map((r) => r.temperature_c)).toEqual([23.45]);
  });
});
