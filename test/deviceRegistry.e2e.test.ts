/**
 * The device registry through the API and the CLI, and what ingest makes of it, with
 * REQUIRE_DEVICE_REGISTRATION on: a registered device is stored, an unknown or a
 * disabled one is quarantined with its reason.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { readingPayload } from './helpers/burst.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const run = promisify(execFile);
const FINGERPRINT = 'AB:'.repeat(31) + 'CD';

describe('the device registry', () => {
  let db: TestDatabase;
  let broker: TestBroker;
  let app: TestApp;
  let sql: pg.Pool;
  let seq = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    broker = await startBroker();
    sql = new pg.Pool({ connectionString: db.url.toString(), max: 2 });
    app = await startTestApp({
      databaseUrl: db.url,
      mqttUrl: broker.url,
      env: { REQUIRE_DEVICE_REGISTRATION: 'true' },
    });
  });

  afterAll(async () => {
    await app?.close();
    await sql?.end();
    await broker?.destroy();
    await db?.drop();
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await app.api(path, {
      method,
      ...(body === undefined
        ? {}
        : {
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  /** Publishes one reading and answers what became of its raw message. */
  const publish = async (deviceId: string) => {
    seq += 1;
    const payload = readingPayload(seq, 1, Date.now() - 3_600_000);
    const c = await mqtt.connectAsync(broker.url, { clientId: `pub-${seq}` });
    await c.publishAsync(`heru/v1/devices/${deviceId}/readings`, payload, { qos: 1 });
    await c.endAsync();
    return waitFor(async () => {
      const { rows } = await sql.query<{ outcome: string; reason: string | null }>(
        'select outcome, reason from raw_message where payload = $1',
        [Buffer.from(payload)],
      );
      return rows[0];
    }, 20_000);
  };

  const statusIn = (id: string, status: string | undefined) =>
    waitFor(
      () => Promise.resolve(app.devices?.statusOf(id) === status ? true : undefined),
      10_000,
      `${id} ${status ?? 'unknown'} in ingest's registry`,
    );

  it('registers a device and shows its registry fields in the device list', async () => {
    const res = await api('POST', '/api/v1/devices', {
      device_id: 'fridge-1',
      site: 'Clinic North',
      cert_fingerprint: FINGERPRINT,
      by: 'it.admin',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      device_id: 'fridge-1',
      status: 'active',
      credentials: 'certificate',
      cert_fingerprint: 'ab'.repeat(31) + 'cd',
      registered_by: app.actor,
    });
    const list = await api('GET', '/api/v1/devices');
    const devices = list.body.devices as Array<Record<string, unknown>>;
    expect(devices.find((d) => d.device_id === 'fridge-1')).toMatchObject({
      site: 'Clinic North',
      status: 'active',
      first_seen_at: null,
      message_count: 0,
    });
  });

  it('answers a second registration, a reserved id and a bad body with a clear error', async () => {
    const again = await api('POST', '/api/v1/devices', {
      device_id: 'fridge-1',
      by: 'x',
    });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'DEVICE_ALREADY_REGISTERED' });
    const reserved = await api('POST', '/api/v1/devices', {
      device_id: 'heru-ingest',
      by: 'x',
    });
    expect(reserved.status).toBe(400);
    const badBy = await api('POST', '/api/v1/devices', { device_id: 'fridge-2', by: 42 });
    expect(badBy.status).toBe(400);
    expect(JSON.stringify(badBy.body)).toContain('`by` is optional');
    const badKind = await api('POST', '/api/v1/devices', {
      device_id: 'fridge-2',
      credentials: 'token',
      by: 'x',
    });
    expect(badKind.status).toBe(400);
    expect(
      (await api('PATCH', '/api/v1/devices/nobody', { status: 'disabled', by: 'x' }))
        .status,
    ).toBe(404);
  });

  it('stores a registered device and quarantines an unknown one as DEVICE_UNKNOWN', async () => {
    await statusIn('fridge-1', 'active');
    expect(await publish('fridge-1')).toEqual({ outcome: 'stored', reason: null });
    expect(await publish('stranger-1')).toEqual({
      outcome: 'quarantined',
      reason: 'DEVICE_UNKNOWN',
    });
  });

  it('registers a device ingest already saw, keeping its counts, and stores it from then on', async () => {
    const res = await api('POST', '/api/v1/devices', {
      device_id: 'stranger-1',
      by: 'it.admin',
    });
    expect(res.status).toBe(201);
    await statusIn('stranger-1', 'active');
    expect(await publish('stranger-1')).toEqual({ outcome: 'stored', reason: null });
    const d = await api('GET', '/api/v1/devices/stranger-1');
    expect(d.body).toMatchObject({
      message_count: 2,
      quarantined_count: 1,
      credentials: 'none',
    });
  });

  it('quarantines a disabled device as DEVICE_DISABLED and stores it again once enabled', async () => {
    const off = await api('PATCH', '/api/v1/devices/fridge-1', {
      status: 'disabled',
      by: 'quality.manager',
      comment: 'sent for calibration',
    });
    expect(off.status).toBe(200);
    await statusIn('fridge-1', 'disabled');
    expect(await publish('fridge-1')).toEqual({
      outcome: 'quarantined',
      reason: 'DEVICE_DISABLED',
    });

    await api('PATCH', '/api/v1/devices/fridge-1', {
      status: 'active',
      by: 'quality.manager',
    });
    await statusIn('fridge-1', 'active');
    expect(await publish('fridge-1')).toEqual({ outcome: 'stored', reason: null });

    const changes = (await api('GET', '/api/v1/devices/fridge-1/changes')).body.changes;
    expect(changes).toMatchObject([
      { action: 'registered', by: app.actor, comment: 'on behalf of it.admin' },
      {
        action: 'disabled',
        by: app.actor,
        comment: 'sent for calibration (on behalf of quality.manager)',
      },
      { action: 'enabled', by: app.actor, comment: 'on behalf of quality.manager' },
    ]);
  });

  it('is managed from the command line too, and ingest follows at once', async () => {
    const heru = async (...args: string[]) =>
      (
        await run(
          process.execPath,
          ['--import', 'tsx', 'src/cli/main.ts', 'device', ...args],
          {
            cwd: REPO,
            env: { ...process.env, DATABASE_URL: db.url.toString(), LOG_LEVEL: 'warn' },
            timeout: 60_000,
          },
        )
      ).stdout;
    expect(await heru('add', 'cli-1', '--site', 'Ward 3', '--by', 'nurse.ana')).toContain(
      'registered cli-1: active, credentials none, site Ward 3',
    );
    await statusIn('cli-1', 'active');
    expect(await heru('list')).toMatch(/cli-1 +active +none +Ward 3/);
    expect(await heru('disable', 'cli-1', '--by', 'nurse.ana')).toContain(
      'cli-1: disabled',
    );
    await statusIn('cli-1', 'disabled');
    expect((await publish('cli-1')).reason).toBe('DEVICE_DISABLED');
  });
});
