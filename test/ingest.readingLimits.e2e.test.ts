import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const BATCH = 1_000;
const CLIENT_ID = 'heru-test-reading-limits';

/** A message of `n` readings of one device, sequence numbers from `from`. */
function arrayPayload(from: number, n: number, baseMs: number): string {
  return JSON.stringify(
    Array.from({ length: n }, (_, i) => ({
      boot: 1,
      seq: from + i,
      time: new Date(baseMs + (from + i) * 1000).toISOString(),
      temperature: 5,
    })),
  );
}

/** Readings stored, or undefined while there are none. */
async function count(app: TestApp): Promise<number | undefined> {
  const { rows } = await app.pool.query<{ n: number }>(
    'select count(*)::int as n from reading',
  );
  return rows[0]!.n > 0 ? rows[0]!.n : undefined;
}

describe('ingest limits count readings, not messages', () => {
  let db: TestDatabase;
  let broker: TestBroker;
  let app: TestApp | undefined;

  const start = () =>
    startTestApp({
      databaseUrl: db.url,
      mqttUrl: broker.url,
      env: {
        MQTT_CLIENT_ID: CLIENT_ID,
        INGEST_BATCH_SIZE: String(BATCH),
        INGEST_MAX_PENDING: String(2 * BATCH),
      },
    });

  beforeAll(async () => {
    db = await createTestDatabase();
    broker = await startBroker();
  });

  afterAll(async () => {
    await app?.close();
    await broker?.destroy();
    await db?.drop();
  });

  it('commits a backlog of large messages at most a batch of readings at a time', async () => {
    // The session is made, then ingest is away while 50 messages of 400 readings and
    // one of 1,500 wait in it: they come at once when it is back.
    app = await start();
    const baseMs = Date.now() - 24 * 3600_000;
    const device = await mqtt.connectAsync(broker.url, { clientId: 'limits-pub' });
    // One reading through, so the session surely holds the subscription.
    await device.publishAsync(
      'heru/v1/devices/limits-0/readings',
      arrayPayload(0, 1, baseMs),
      {
        qos: 1,
      },
    );
    await waitFor(() => count(app!), 30_000, 'the first reading stored');
    await app.close();
    app = undefined;
    for (let m = 0; m < 50; m += 1) {
      await device.publishAsync(
        'heru/v1/devices/limits-1/readings',
        arrayPayload(m * 400, 400, baseMs),
        { qos: 1 },
      );
    }
    await device.publishAsync(
      'heru/v1/devices/limits-2/readings',
      arrayPayload(0, 1_500, baseMs),
      { qos: 1 },
    );
    await device.endAsync();

    app = await start();
    const total = 1 + 50 * 400 + 1_500;
    const pool = app.pool;
    await waitFor(
      async () => (((await count(app!)) ?? 0) >= total ? 1 : undefined),
      60_000,
      `${total} stored readings`,
    );
    // Rows written by one transaction share its xmin: readings per commit.
    const { rows } = await pool.query<{ device: string; n: number }>(
      `select min(device_id) as device, count(*)::int as n from reading
       group by xmin::text order by n desc`,
    );
    const ofDevice = (d: string) => rows.filter((r) => r.device === d);
    expect(rows.reduce((a, r) => a + r.n, 0)).toBe(total);
    // The message larger than a batch is committed alone, whole.
    expect(ofDevice('limits-2').map((r) => r.n)).toEqual([1_500]);
    // The others: at most a batch of readings a commit, so whole messages of 400
    // two at a time.
    expect(Math.max(...ofDevice('limits-1').map((r) => r.n))).toBeLessThanOrEqual(BATCH);
    expect(ofDevice('limits-1').every((r) => r.n % 400 === 0)).toBe(true);
    expect(ofDevice('limits-1').reduce((a, r) => a + r.n, 0)).toBe(50 * 400);
  });
});
