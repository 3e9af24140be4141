/**
 * Each embedded part gives way to the real one when its variable is set, one at a
 * time: a real PostgreSQL with the embedded broker, and the embedded database with a
 * real Mosquitto (MQTT 5).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/app.js';
import { EmbeddedServer } from './helpers/embeddedServer.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const PAYLOAD = JSON.stringify({ device_id: 'mixed_01', temperature: 4.5, humidity: 50 });

async function countReadings(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ n: number }>(
      "select count(*)::int as n from reading where device_id = 'mixed_01'",
    );
    return r.rows[0]!.n;
  } finally {
    await client.end();
  }
}

describe('the embedded default, one part replaced', () => {
  let dataDir: string | undefined;
  let server: EmbeddedServer | undefined;
  let db: TestDatabase | undefined;
  let broker: TestBroker | undefined;

  afterEach(async () => {
    await server?.stop();
    await broker?.stop();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    server = broker = db = dataDir = undefined;
  });

  it('uses PostgreSQL from DATABASE_URL and still embeds the broker', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'heru-mixed-'));
    db = await createTestDatabase();
    server = await EmbeddedServer.create(dataDir, { DATABASE_URL: db.url.toString() });
    await server.start();
    expect(server.messages().some((m) => m.startsWith('embedded PostgreSQL'))).toBe(
      false,
    );
    expect(server.messages().some((m) => m.startsWith('embedded MQTT broker'))).toBe(
      true,
    );
    const client = await mqtt.connectAsync({
      protocol: 'mqtts',
      host: 'localhost',
      port: server.ports.mqtts,
      ca: await readFile(join(dataDir, 'pki', 'ca.crt')),
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    await client.publishAsync('heru/sensors/mixed_01', PAYLOAD, { qos: 1 });
    await client.endAsync();
    const url = db.url.toString();
    await waitFor(
      async () => ((await countReadings(url)) === 1 ? true : undefined),
      15_000,
      'the reading in the real database',
    );
  });

  it('uses the broker from MQTT_URL (MQTT 5) and still embeds the database', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'heru-mixed-'));
    broker = await startBroker();
    server = await EmbeddedServer.create(dataDir, {
      MQTT_URL: broker.url,
      MQTT_CLIENT_ID: 'heru-mixed-ingest',
    });
    await server.start();
    expect(server.messages().some((m) => m.startsWith('embedded MQTT broker'))).toBe(
      false,
    );
    expect(server.messages().some((m) => m.startsWith('embedded PostgreSQL'))).toBe(true);
    const client = await mqtt.connectAsync(broker.url, {
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    await client.publishAsync('heru/sensors/mixed_01', PAYLOAD, { qos: 1 });
    await client.endAsync();
    const url = (await readFile(join(dataDir, 'postgres.url'), 'utf8')).trim();
    await waitFor(
      async () => ((await countReadings(url)) === 1 ? true : undefined),
      15_000,
      'the reading in the embedded database',
    );
  });
});
