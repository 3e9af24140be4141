import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerMessagesByBatch } from './helpers/anchor.js';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { OwnRedis } from './helpers/ownRedis.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

interface Health {
  status: string;
  checks: Record<string, { status: string; detail?: string }>;
}

describe('anchoring through a Redis outage', () => {
  let db: TestDatabase;
  let broker: TestBroker;
  let redis: OwnRedis;
  let app: TestApp;
  let publisher: mqtt.MqttClient;
  let dataDir: string;

  const publish = (device: string, t: number): Promise<unknown> =>
    publisher.publishAsync(
      `heru/sensors/${device}`,
      JSON.stringify({ device_id: device, temperature: t, humidity: 50 }),
      { qos: 1 },
    );

  const anchoredReadingsOf = async (device: string): Promise<number> => {
    const { rows } = await app.pool.query<{ n: number }>(
      `select count(*)::int as n from reading r
       join anchor_proof p on p.reading_id = r.id
       join anchor_batch b on b.id = p.batch_id and b.state = 'anchored'
       where r.device_id = $1`,
      [device],
    );
    return rows[0]!.n;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    broker = await startBroker();
    redis = await OwnRedis.start();
    dataDir = mkdtempSync(join(tmpdir(), 'heru-redis-'));
    app = await startTestApp({
      databaseUrl: db.url,
      mqttUrl: broker.url,
      roles: { ingest: true, api: true, worker: true },
      env: {
        REDIS_URL: redis.url,
        ANCHOR_BATCH_WINDOW: '1',
        ANCHOR_RECONCILE_INTERVAL: '1',
        HERU_DATA_DIR: dataDir,
      },
    });
    publisher = await mqtt.connectAsync(broker.url, { clientId: `pub-${app.clientId}` });
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await app?.close();
    await redis?.stop();
    await broker?.destroy();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('anchors readings while Redis is up', async () => {
    await publish('fridge-r1', 4.1);
    await waitFor(
      async () => ((await anchoredReadingsOf('fridge-r1')) === 1 ? true : undefined),
      15_000,
    );
  });

  it('keeps storing readings while Redis is down, and says so in /health', async () => {
    await redis.stop();
    for (const t of [4.2, 4.3, 4.4]) await publish('fridge-r2', t);
    await waitFor(async () => {
      const { rows } = await app.pool.query<{ n: number }>(
        "select count(*)::int as n from reading where device_id = 'fridge-r2'",
      );
      return rows[0]!.n === 3 ? true : undefined;
    });
    const health = await waitFor(async () => {
      const body = (await (await fetch(`${app.baseUrl}/health`)).json()) as Health;
      return body.checks.queue?.status === 'failing' ? body : undefined;
    });
    expect(health.checks.queue!.detail).toMatch(/anchoring waits in PostgreSQL/);
    expect(health.checks.ingest!.status).toBe('ok');
  });

  it('anchors what waited once Redis is back, empty, without a restart of the server', async () => {
    await redis.start();
    await waitFor(
      async () => ((await anchoredReadingsOf('fridge-r2')) === 3 ? true : undefined),
      30_000,
      'the readings stored during the outage to be anchored',
    );
    const messages = await ledgerMessagesByBatch(app.pool);
    expect([...messages.values()].every((n) => n === 1)).toBe(true);
    await waitFor(async () => {
      const body = (await (await fetch(`${app.baseUrl}/health`)).json()) as Health;
      return body.checks.queue?.status === 'ok' ? true : undefined;
    });
  });
});
