import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerMessagesByBatch, pinsByCid, runCli } from './helpers/anchor.js';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

describe('anchoring with nothing configured but PostgreSQL and MQTT, one reading a batch', () => {
  let db: TestDatabase;
  let broker: TestBroker;
  let app: TestApp;
  let publisher: mqtt.MqttClient;
  let dataDir: string;
  let ids: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    broker = await startBroker();
    dataDir = mkdtempSync(join(tmpdir(), 'heru-local-'));
    app = await startTestApp({
      databaseUrl: db.url,
      mqttUrl: broker.url,
      roles: { ingest: true, api: true, worker: true },
      env: {
        ANCHOR_BATCH_MAX: '1',
        ANCHOR_BATCH_WINDOW: '1',
        ANCHOR_MANIFEST: 'readings',
        HERU_DATA_DIR: dataDir,
      },
    });
    publisher = await mqtt.connectAsync(broker.url, { clientId: `pub-${app.clientId}` });
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await app?.close();
    await broker?.destroy();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('anchors each of three readings in a batch of its own, through the in-process queue', async () => {
    const health = (await (await fetch(`${app.baseUrl}/health`)).json()) as {
      checks: Record<string, { status: string; queue?: string; backend?: string }>;
    };
    expect(health.checks.queue).toMatchObject({ status: 'ok', queue: 'in-process' });
    expect(health.checks.ipfs).toMatchObject({ status: 'ok', backend: 'local' });
    expect(health.checks.ledger).toMatchObject({ status: 'ok', backend: 'local' });

    for (const t of [5.1, 5.3, 5.5]) {
      await publisher.publishAsync(
        'heru/sensors/fridge-b',
        JSON.stringify({ device_id: 'fridge-b', temperature: t, humidity: 40 }),
        { qos: 1 },
      );
    }
    ids = await waitFor(async () => {
      const { rows } = await app.pool.query<{ id: string }>(
        "select id::text as id from reading where device_id = 'fridge-b' order by id",
      );
      return rows.length === 3 ? rows.map((r) => r.id) : undefined;
    });
    const batches = await waitFor(
      async () => {
        const { rows } = await app.pool.query<{ id: string; reading_count: number }>(
          "select id::text as id, reading_count from anchor_batch where state = 'anchored'",
        );
        return rows.length === 3 ? rows : undefined;
      },
      15_000,
      'three anchored batches',
    );
    expect(batches.map((b) => b.reading_count)).toEqual([1, 1, 1]);
    expect([...(await ledgerMessagesByBatch(app.pool)).values()]).toEqual([1, 1, 1]);
    expect([...(await pinsByCid(dataDir)).values()]).toEqual([1, 1, 1]);
  });

  it('names the field that changed when a reading no longer matches its manifest', async () => {
    const id = ids[0]!;
    await app.pool.query('alter table reading disable trigger reading_append_only');
    try {
      await app.pool.query('update reading set temperature_c = 5.2 where id = $1', [id]);
    } finally {
      await app.pool.query('alter table reading enable trigger reading_append_only');
    }
    const out = await runCli(['verify', id, '--json'], {
      DATABASE_URL: db.url.toString(),
      HERU_DATA_DIR: dataDir,
    });
    expect(out.code).toBe(1);
    const report = JSON.parse(out.stdout) as {
      holds: boolean;
      checks: Array<{ what: string; holds: boolean; detail: string }>;
    };
    expect(report.holds).toBe(false);
    const manifest = report.checks.find((c) => c.what === 'manifest')!;
    expect(manifest.holds).toBe(false);
    expect(manifest.detail).toMatch(/temperature_c was 5\.1, now 5\.2/);
    expect(
      (
        await runCli(['verify', ids[1]!], {
          DATABASE_URL: db.url.toString(),
          HERU_DATA_DIR: dataDir,
        })
      ).code,
    ).toBe(0);
  });
});
