import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REDIS_URL,
  deleteQueueKeys,
  ledgerMessagesByBatch,
  pinsByCid,
  queueName,
  runCli,
} from './helpers/anchor.js';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

interface ProofBody {
  reading_id: string;
  leaf: string;
  path: string[];
  root: string;
  count: number;
  manifest_cid: string;
  topic_id: string;
  sequence_number: number;
  consensus_time: string;
  transaction_id: string;
  canonical: string;
  reading_unchanged: boolean;
}

describe('anchoring a reading published over MQTT', () => {
  let db: TestDatabase;
  let broker: TestBroker;
  let app: TestApp;
  let publisher: mqtt.MqttClient;
  let dataDir: string;
  const queue = queueName();
  let readingId = '';
  let cliEnv: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase();
    broker = await startBroker();
    dataDir = mkdtempSync(join(tmpdir(), 'heru-anchor-'));
    app = await startTestApp({
      databaseUrl: db.url,
      mqttUrl: broker.url,
      roles: { ingest: true, api: true, worker: true },
      env: {
        REDIS_URL,
        ANCHOR_QUEUE: queue,
        ANCHOR_BATCH_WINDOW: '1',
        HERU_DATA_DIR: dataDir,
      },
    });
    publisher = await mqtt.connectAsync(broker.url, { clientId: `pub-${app.clientId}` });
    cliEnv = { DATABASE_URL: db.url.toString(), HERU_DATA_DIR: dataDir };
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await app?.close();
    await broker?.destroy();
    await db?.drop();
    await deleteQueueKeys(queue);
    rmSync(dataDir, { recursive: true, force: true });
  });

  // How fast a proof comes is measured by `npm run bench`, not asserted here.
  it('gives the reading a proof after its publication', async () => {
    await publisher.publishAsync(
      'heru/sensors/fridge-a',
      '{"device_id": "fridge-a","temperature": 4.5,"humidity": 45.60}',
      { qos: 1 },
    );
    readingId = await waitFor(async () => {
      const { rows } = await app.pool.query<{ id: string }>(
        "select id::text as id from reading where device_id = 'fridge-a'",
      );
      return rows[0]?.id;
    }, 30_000);
    const proof = await waitFor(
      async () => {
        const res = await app.api(`/api/v1/readings/${readingId}/proof`);
        return res.status === 200 ? ((await res.json()) as ProofBody) : undefined;
      },
      30_000,
      'the proof',
    );
    expect(proof).toMatchObject({
      reading_id: readingId,
      count: 1,
      path: [],
      topic_id: '0.0.1000',
      sequence_number: 1,
      reading_unchanged: true,
    });
    expect(proof.root).toBe(proof.leaf);
    expect(proof.manifest_cid).toMatch(/^bafk/);
    expect(proof.transaction_id).toMatch(/^0\.0\.2@\d+\.\d{9}$/);
    expect(proof.consensus_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect(JSON.parse(proof.canonical)).toMatchObject({
      temperature_c: 4.5,
      device_id: 'fridge-a',
    });
  });

  it('serves the batch with its root, count, CID and ledger message', async () => {
    const proof = (await (
      await app.api(`/api/v1/readings/${readingId}/proof`)
    ).json()) as {
      batch_id: string;
      root: string;
    };
    const res = await app.api(`/api/v1/batches/${proof.batch_id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      batch_id: proof.batch_id,
      state: 'anchored',
      count: 1,
      root: proof.root,
      ledger: 'local',
      sequence_number: 1,
    });
    expect((await app.api(`/api/v1/batches/999999`)).status).toBe(404);
  });

  it('pins one manifest and writes one ledger message for the batch', async () => {
    expect([...(await pinsByCid(dataDir)).values()]).toEqual([1]);
    expect([...(await ledgerMessagesByBatch(app.pool)).values()]).toEqual([1]);
  });

  it('has heru verify accept the reading and say what holds', async () => {
    const out = await runCli(['verify', readingId], cliEnv);
    if (process.env.SHOW_CLI) console.log(out.stdout);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/holds +reading: the reading gives/);
    expect(out.stdout).toMatch(/holds +ledger: message 1 of topic 0\.0\.1000/);
    expect(out.stdout).toMatch(/holds +manifest: the manifest bafk/);
    expect(out.stdout).toMatch(/Verified: reading \d+ existed unchanged by \d{4}-/);
  });

  it('has heru verify accept the proof file the API gave', async () => {
    const body = await (await app.api(`/api/v1/readings/${readingId}/proof`)).text();
    const file = join(dataDir, 'proof.json');
    writeFileSync(file, body);
    const out = await runCli(['verify', file], cliEnv);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/Verified/);
  });

  it('has heru verify refuse the reading after its temperature changed by 0.1 °C, and say why', async () => {
    await app.pool.query('alter table reading disable trigger reading_append_only');
    try {
      await app.pool.query('update reading set temperature_c = 4.6 where id = $1', [
        readingId,
      ]);
    } finally {
      await app.pool.query('alter table reading enable trigger reading_append_only');
    }
    const out = await runCli(['verify', readingId], cliEnv);
    if (process.env.SHOW_CLI) console.log(out.stdout);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(
      /DOES NOT HOLD +reading: .*the reading changed after it was anchored/,
    );
    expect(out.stdout).toMatch(/DOES NOT HOLD +path/);
    expect(out.stdout).toMatch(
      /DOES NOT HOLD +manifest: the manifest lists another leaf/,
    );
    expect(out.stdout).toMatch(/holds +ledger/);
    expect(out.stdout).toMatch(/Not verified: 3 of 4 checks do not hold/);

    const res = await app.api(`/api/v1/readings/${readingId}/proof`);
    expect(((await res.json()) as ProofBody).reading_unchanged).toBe(false);
  });

  it('has heru verify still accept the proof file taken before the change', async () => {
    const out = await runCli(['verify', join(dataDir, 'proof.json')], cliEnv);
    expect(out.code).toBe(0);
  });
});
