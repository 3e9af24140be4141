import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokenStore.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { Health } from '../src/health.js';
import { buildServer } from '../src/http/server.js';
import { createLogger } from '../src/log.js';
import { MappingRegistry } from '../src/mappings/registry.js';
import { createMetrics } from '../src/metrics.js';
import { waitFor } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const log = createLogger('silent');
let db: TestDatabase;
let pool: Pool;
let http: FastifyInstance;
let registry: MappingRegistry;
/** An admin token's header, and how changes made with it name their maker. */
let auth: { authorization: string };
let actor: string;
const announced: Array<readonly string[]> = [];

const COLDBOX = {
  topic: 'coldbox/{device}/data',
  temperature: '$.t',
  time: '$.ts',
  time_format: 'epoch_s',
};

beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPool(db.url, log, { max: 6 });
  await migrate(pool, log);
  const { token, row } = await createToken(pool, {
    name: 'ops',
    role: 'admin',
    by: 'test',
  });
  auth = { authorization: `Bearer ${token}` };
  actor = `ops (token ${row.id})`;
  // Refreshed only by notifications within this test: the timer is an hour.
  registry = new MappingRegistry(pool, log, 3_600_000);
  registry.on('topics', (t) => announced.push(t));
  await registry.start();
  http = buildServer({
    pool,
    log,
    health: new Health(),
    metrics: createMetrics(),
    ready: () => true,
    api: true,
  });
});

afterAll(async () => {
  await http?.close();
  await registry?.close();
  await pool?.end();
  await db?.drop();
});

const put = (name: string, body: unknown) =>
  http.inject({
    method: 'PUT',
    url: `/api/v1/mappings/${name}`,
    payload: body as object,
    headers: auth,
  });
const get = (url: string) => http.inject({ url, headers: auth });

describe('the mappings API', () => {
  it('creates a mapping, answers 201, and shows it with its MQTT filter', async () => {
    const res = await put('coldbox', COLDBOX);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      name: 'coldbox',
      topic: 'coldbox/{device}/data',
      filter: 'coldbox/+/data',
      format: 'json',
      unit: 'C',
      time_format: 'epoch_s',
      updated_by: actor,
      problem: null,
    });
    const list = (await get('/api/v1/mappings')).json<{ mappings: unknown[] }>();
    expect(list.mappings).toHaveLength(1);
  });

  it('reaches a running ingest through NOTIFY, which announces the new topic', async () => {
    await waitFor(() =>
      Promise.resolve(registry.mappings().some((m) => m.name === 'coldbox') || undefined),
    );
    expect(announced.at(-1)).toEqual(['coldbox/+/data']);
  });

  it('replaces a mapping with 200 and keeps who changed what', async () => {
    const res = await put('coldbox', {
      ...COLDBOX,
      unit: 'F',
      by: 'qa',
      comment: 'probe in °F',
    });
    expect(res.statusCode).toBe(200);
    const changes = (await get('/api/v1/mappings/coldbox/changes')).json<{
      changes: Array<{
        by: string;
        comment: string | null;
        old: unknown;
        new: { unit: string };
      }>;
    }>().changes;
    expect(changes.map((c) => [c.by, c.comment, c.old === null, c.new.unit])).toEqual([
      [actor, null, true, 'C'],
      [actor, 'probe in °F (on behalf of qa)', false, 'F'],
    ]);
  });

  it('refuses an invalid mapping with MAPPING_INVALID, saying which field', async () => {
    const res = await put('bad', { topic: 'x/{device}', temperature: 'temp', by: 'ops' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: {
        code: 'MAPPING_INVALID',
        message:
          'The mapping is not valid: temperature must be a JSON path starting with $ (the payload) or @ (the current reading), such as "$.temperature"; got "temp".',
      },
    });
    const overlap = await put('other', {
      topic: 'coldbox/{device}/+',
      temperature: '$.t',
      by: 'o',
    });
    expect(overlap.json()).toMatchObject({ error: { code: 'MAPPING_INVALID' } });
    expect(overlap.json<{ error: { message: string } }>().error.message).toContain(
      'overlaps mapping coldbox',
    );
    const anonymous = await http.inject({
      method: 'PUT',
      url: '/api/v1/mappings/nobody',
      payload: { topic: 'nb/{device}', temperature: '$.t' },
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it('dry-runs a message through a stored mapping', async () => {
    const res = await http.inject({
      method: 'POST',
      headers: auth,
      url: '/api/v1/mappings/coldbox/test',
      payload: { topic: 'coldbox/cb-1/data', payload: '{"t": 39.2, "ts": 1767607200}' },
    });
    expect(res.json()).toMatchObject({
      outcome: 'stored',
      device_id: 'cb-1',
      readings: [{ temperature_c: 4, device_time: '2026-01-05T10:00:00.000Z' }],
    });
    const miss = await http.inject({
      method: 'POST',
      headers: auth,
      url: '/api/v1/mappings/coldbox/test',
      payload: { topic: 'coldbox/cb-1/data', payload: '{"temp": 4}' },
    });
    expect(miss.json()).toMatchObject({
      outcome: 'quarantined',
      reason: 'MAPPING_MISMATCH',
    });
  });

  it('answers 404 MAPPING_NOT_FOUND for a mapping that is not there', async () => {
    const res = await get('/api/v1/mappings/nothing');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: 'MAPPING_NOT_FOUND' } });
  });

  it('deletes a mapping, and the running ingest drops it', async () => {
    const res = await http.inject({
      method: 'DELETE',
      url: '/api/v1/mappings/coldbox',
      headers: auth,
    });
    expect(res.statusCode).toBe(204);
    await waitFor(() => Promise.resolve(registry.mappings().length === 0 || undefined));
  });
});

describe('the device settings API', () => {
  it('answers the defaults for a device nobody set up', async () => {
    const res = await get('/api/v1/devices/tasmota_1/settings');
    expect(res.json()).toMatchObject({ time_zone: null, unit: null, sensor_kinds: {} });
  });

  it('sets a time zone and sensor kinds, which reach the running ingest', async () => {
    const res = await http.inject({
      method: 'PUT',
      headers: auth,
      url: '/api/v1/devices/tasmota_1/settings',
      payload: {
        time_zone: 'Europe/Berlin',
        sensor_kinds: { probe_a: 'temperature' },
        by: 'ops',
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ time_zone: 'Europe/Berlin', updated_by: actor });
    await waitFor(() =>
      Promise.resolve(
        registry.settingsOf('tasmota_1').timeZone === 'Europe/Berlin' || undefined,
      ),
    );
    expect(registry.settingsOf('tasmota_1').sensorKinds).toEqual({
      probe_a: 'temperature',
    });
  });

  it('refuses a zone it does not know and a kind that is none', async () => {
    const zone = await http.inject({
      method: 'PUT',
      headers: auth,
      url: '/api/v1/devices/tasmota_1/settings',
      payload: { time_zone: 'Europe/Atlantis', by: 'ops' },
    });
    expect(zone.statusCode).toBe(400);
    expect(zone.json<{ error: { message: string } }>().error.message).toContain(
      'unknown time zone "Europe/Atlantis"',
    );
    const kind = await http.inject({
      method: 'PUT',
      headers: auth,
      url: '/api/v1/devices/tasmota_1/settings',
      payload: { sensor_kinds: { a: 'pressure' }, by: 'ops' },
    });
    expect(kind.statusCode).toBe(400);
  });

  it('answers 404 for the status of a device never seen', async () => {
    const res = await get('/api/v1/devices/ghost/status');
    expect(res.statusCode).toBe(404);
  });
});
