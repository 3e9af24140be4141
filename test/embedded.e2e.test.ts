/**
 * The embedded default end to end: `heru serve` with no DATABASE_URL, MQTT_URL or
 * REDIS_URL runs PGlite, an MQTT broker with TLS, the in-process queue and the local
 * store and ledger in one process. A device publishes the Heru firmware payload over
 * TLS, the reading is stored and anchored, `heru verify` accepts its proof, and a
 * restart keeps everything.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/anchor.js';
import { EmbeddedServer } from './helpers/embeddedServer.js';
import { waitFor } from './helpers/app.js';

describe('the embedded default', () => {
  let dataDir: string;
  let server: EmbeddedServer;
  const startTimes: number[] = [];

  const caFile = (): string => join(dataDir, 'pki', 'ca.crt');
  const query = async <T extends pg.QueryResultRow>(
    sql: string,
  ): Promise<pg.QueryResult<T>> => {
    const url = (await readFile(join(dataDir, 'postgres.url'), 'utf8')).trim();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await client.query<T>(sql);
    } finally {
      await client.end();
    }
  };
  const publishOverTls = async (deviceId: string, temperature: number): Promise<void> => {
    const client = await mqtt.connectAsync({
      protocol: 'mqtts',
      host: 'localhost',
      port: server.ports.mqtts,
      ca: await readFile(caFile()),
      rejectUnauthorized: true,
      protocolVersion: 4,
      clientId: `embedded-test-${deviceId}`,
      reconnectPeriod: 0,
    });
    try {
      const payload = JSON.stringify({
        device_id: deviceId,
        temperature,
        humidity: 45.6,
      });
      await client.publishAsync(`heru/sensors/${deviceId}`, payload, { qos: 1 });
    } finally {
      await client.endAsync();
    }
  };
  const readingCount = async (): Promise<number> =>
    (await query<{ n: number }>('select count(*)::int as n from reading')).rows[0]!.n;
  const verify = (id: string) =>
    runCli(['verify', id], { HERU_DATA_DIR: dataDir, DATABASE_URL: '' });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'heru-embedded-'));
    server = await EmbeddedServer.create(dataDir);
    startTimes.push(await server.start());
  });

  afterAll(async () => {
    await server?.stop();
    console.log(`embedded starts to a healthy /health: ${startTimes.join(' ms, ')} ms`);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('says at start which parts run embedded, one line each', () => {
    const messages = server.messages();
    for (const part of [
      'embedded PostgreSQL',
      'embedded MQTT broker (Aedes) with TLS',
      'embedded job queue',
      'embedded IPFS store',
      'embedded ledger',
    ]) {
      expect(messages.filter((m) => m.startsWith(part))).toHaveLength(1);
    }
  });

  it('stores a firmware reading published over TLS and anchors it so that verify accepts it', async () => {
    await publishOverTls('esp32_sensor_01', 23.45);
    const id = await waitFor(
      async () => {
        const r = await query<{ id: string }>(
          "select id::text from reading where device_id = 'esp32_sensor_01'",
        );
        return r.rows[0]?.id;
      },
      15_000,
      'the reading',
    );
    const verified = await waitFor(
      async () => {
        const r = await verify(id);
        return r.code === 0 ? r : undefined;
      },
      30_000,
      'a proof that verify accepts',
    );
    expect(verified.stdout).toContain('Verified');
  });

  it('refuses a QoS 1 publish with an empty device level and keeps ingest connected', async () => {
    const client = await mqtt.connectAsync({
      protocol: 'mqtts',
      host: 'localhost',
      port: server.ports.mqtts,
      ca: await readFile(caFile()),
      protocolVersion: 4,
      clientId: 'embedded-test-empty-level',
      reconnectPeriod: 0,
    });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('heru/sensors/', '{"temperature": 4}', { qos: 1 });
    await closed;
    client.end(true);

    expect(server.messages()).toContain('embedded broker: publish refused');
    await publishOverTls('esp32_sensor_03', 4.4);
    await waitFor(
      async () => {
        const r = await query(
          "select 1 from reading where device_id = 'esp32_sensor_03'",
        );
        return r.rowCount === 1 ? true : undefined;
      },
      15_000,
      'the reading after the refused publish',
    );
    expect(server.messages()).not.toContain('mqtt connection lost');
  });

  it('keeps its readings and proofs across a restart and goes on ingesting', async () => {
    const before = await readingCount();
    await server.stop();
    startTimes.push(await server.start());
    expect(await readingCount()).toBe(before);
    expect((await verify('1')).code).toBe(0);
    await publishOverTls('esp32_sensor_02', 4.2);
    await waitFor(
      async () => ((await readingCount()) === before + 1 ? true : undefined),
      15_000,
      'the reading after the restart',
    );
    expect(await server.healthStatus()).toBe(200);
  });
});
