import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/app.js';
import { startBurst, waitUntilSteady, type Burst } from './helpers/burst.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { ServerProcess } from './helpers/serverProcess.js';

const DEVICES = 10;
const PER_DEVICE = 5_000;
const TOTAL = DEVICES * PER_DEVICE;
/** Readings stored before the kill: well into the burst, far from its end. */
const KILL_AFTER = 5_000;

describe('a server killed with SIGKILL in the middle of a QoS 1 burst', () => {
  let db: TestDatabase;
  let sql: pg.Pool;
  let broker: TestBroker;
  let server: ServerProcess | undefined;
  let burst: Burst | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = new pg.Pool({ connectionString: db.url.toString(), max: 2 });
    broker = await startBroker();
  });

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(server?.output(100));
  });

  afterAll(async () => {
    await burst?.close();
    await server?.kill();
    await sql?.end();
    await broker?.destroy();
    await db?.drop();
  });

  const count = async (table: string): Promise<number> => {
    const { rows } = await sql.query<{ n: number }>(
      `select count(*)::int n from ${table}`,
    );
    return rows[0]!.n;
  };

  it('stores every reading the broker acknowledged exactly once after a restart', async () => {
    const started = Date.now();
    server = await ServerProcess.start({
      databaseUrl: db.url,
      mqttUrl: broker.url,
      clientId: 'heru-crash-test-ingest',
    });
    burst = await startBurst({
      brokerUrl: broker.url,
      devicePrefix: 'crash',
      devices: DEVICES,
      readingsPerDevice: PER_DEVICE,
      timeoutMs: 90_000,
    });

    const storedAtKill = await waitFor(
      async () => {
        const n = await count('reading');
        return n >= KILL_AFTER ? n : undefined;
      },
      60_000,
      `${KILL_AFTER} stored readings`,
    );
    await server.kill();
    const ackedAtKill = burst.acked;
    const at = { kill: Date.now() - started, ready: 0, published: 0, steady: 0 };
    expect(storedAtKill).toBeLessThan(ackedAtKill);

    await server.start();
    at.ready = Date.now() - started;
    await burst.done;
    at.published = Date.now() - started;
    const final = await waitUntilSteady(() => count('reading'), TOTAL);
    at.steady = Date.now() - started;
    const resumed = server.events().find((e) => e.msg === 'mqtt connected');

    expect(final).toBe(TOTAL);
    expect(await duplicateKeys(sql)).toBe(0);
    expect(await missingReadings(sql)).toEqual([]);
    expect(await readingsWithoutRawMessage(sql)).toBe(0);
    expect(await count(`raw_message where outcome = 'stored'`)).toBe(TOTAL);
    expect(await count(`raw_message where outcome = 'quarantined'`)).toBe(0);
    expect(resumed?.sessionPresent).toBe(true);
    // And the way an operator stops it: SIGTERM drains and exits 0.
    expect(await server.stop()).toBe(0);
    console.info(
      `crash: ${storedAtKill} stored and ${ackedAtKill} acknowledged by the broker at ` +
        `SIGKILL; ${await count(`raw_message where outcome = 'duplicate'`)} ` +
        `redelivered after restart; ms since start: ${JSON.stringify(at)}`,
    );
  }, 150_000);
});

async function duplicateKeys(sql: pg.Pool): Promise<number> {
  const { rows } = await sql.query<{ n: number }>(
    `select count(*)::int n from (
       select 1 from reading group by device_id, boot, seq having count(*) > 1) d`,
  );
  return rows[0]!.n;
}

/** Every (device, seq) the burst published that has no reading, at most 10 of them. */
async function missingReadings(sql: pg.Pool): Promise<string[]> {
  const { rows } = await sql.query<{ key: string }>(
    `select device_id || '/' || seq as key from (
       select 'crash-' || d as device_id, 1::bigint as boot, s::bigint as seq
       from generate_series(0, $1::int - 1) d, generate_series(0, $2::int - 1) s
       except
       select device_id, boot, seq from reading) m
     limit 10`,
    [DEVICES, PER_DEVICE],
  );
  return rows.map((r) => r.key);
}

/** Readings whose raw message is missing or holds another reading's bytes. */
async function readingsWithoutRawMessage(sql: pg.Pool): Promise<number> {
  const { rows } = await sql.query<{ n: number }>(
    `select count(*)::int n from reading r
     left join raw_message m on m.id = r.raw_message_id
     where m.id is null
        or convert_from(m.payload, 'UTF8')::jsonb ->> 'seq' <> r.seq::text
        or m.topic <> 'heru/v1/devices/' || r.device_id || '/readings'`,
  );
  return rows[0]!.n;
}
