import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAlarmConfig } from '../src/alarms/config.js';
import { AlarmEngine } from '../src/alarms/engine.js';
import type { AlarmEvent } from '../src/alarms/events.js';
import { AlarmNotifier } from '../src/alarms/notifier.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { Health } from '../src/health.js';
import { buildServer } from '../src/http/server.js';
import { createLogger } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';
import { createToken } from '../src/auth/tokenStore.js';
import type { Role } from '../src/auth/roles.js';
import { authedInject } from './helpers/apiToken.js';
import { Feed, series } from './helpers/feed.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const log = createLogger('silent');
let db: TestDatabase;
let pool: Pool;
let http: FastifyInstance;
const events: AlarmEvent[] = [];
let heatId: string;
type Inject = ReturnType<typeof authedInject>;
/** Requests with an admin token, and with tokens named after the people acting. */
let inject: Inject;
const as: Record<string, { inject: Inject; actor: string }> = {};

async function person(name: string, role: Role): Promise<void> {
  const { token, row } = await createToken(pool, { name, role, by: 'test' });
  as[name] = { inject: authedInject(http, token), actor: `${name} (token ${row.id})` };
}

interface Alarm {
  id: string;
  device_id: string;
  rule_id: string;
  kind: string;
  state: string;
  acknowledged_by: string | null;
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPool(db.url, log, { max: 4 });
  await migrate(pool, log);
  const notifier = new AlarmNotifier(log);
  notifier.addListener({ onAlarmEvent: (e) => events.push(e) });
  const engine = new AlarmEngine(pool, notifier, readAlarmConfig({}), log);
  const feed = new Feed(pool);
  engine.onStored(
    await feed.store(
      'api-1',
      series('2024-06-01T08:00:00Z', 10, Array<number>(8).fill(9)),
    ),
  );
  engine.onStored(
    await feed.store('api-2', series('2024-06-02T08:00:00Z', 1, [5, 13, 5])),
  );
  await engine.close();
  http = buildServer({
    pool,
    log,
    health: new Health(),
    metrics: createMetrics(),
    ready: () => true,
    api: true,
    alarms: notifier,
  });
  inject = authedInject(
    http,
    (await createToken(pool, { name: 'admin', role: 'admin', by: 'test' })).token,
  );
  await person('nurse.jane', 'operator');
  await person('qm.anna', 'admin');
  await person('qm.ben', 'admin');
  const { alarms } = (await inject('/api/v1/alarms?device=api-1')).json<{
    alarms: Alarm[];
  }>();
  heatId = alarms.find((a) => a.rule_id === 'heat')!.id;
});

afterAll(async () => {
  await http?.close();
  await pool?.end();
  await db?.drop();
});

async function list(query: string): Promise<Alarm[]> {
  const res = await inject(`/api/v1/alarms?${query}`);
  expect(res.statusCode).toBe(200);
  return res.json<{ alarms: Alarm[] }>().alarms;
}

describe('GET /api/v1/alarms', () => {
  it('filters by device, state, kind and the time the episode overlaps', async () => {
    expect((await list('device=api-2')).map((a) => [a.kind, a.state])).toEqual([
      ['excursion_immediate', 'cleared'],
    ]);
    expect((await list('state=active')).map((a) => a.device_id)).toEqual(['api-1']);
    expect((await list('kind=excursion_high')).map((a) => a.id)).toEqual([heatId]);
    expect(await list('from=2024-06-02T00:00:00Z&device=api-1')).toHaveLength(1);
    expect(await list('to=2024-06-01T07:00:00Z')).toEqual([]);
  });

  it('answers 400 naming the bad filter', async () => {
    for (const [query, word] of [
      ['state=closed', '`state`'],
      ['kind=fire', '`kind`'],
      ['from=yesterday', '`from`'],
      ['from=2024-02-30', 'one that exists'],
      ['to=99999-01-01', '`to`'],
      ['limit=0', '`limit`'],
      ['from=2024-06-02T00:00:00Z&to=2024-06-01T00:00:00Z', '`from` must be before'],
    ]) {
      const res = await inject(`/api/v1/alarms?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(
        res.json<{ error: { code: string; message: string } }>().error.message,
      ).toContain(word);
    }
  });
});

describe('POST /api/v1/alarms/{id}/ack', () => {
  it('acknowledges with who and comment, keeps the excursion active, and tells the listeners', async () => {
    const nurse = as['nurse.jane']!;
    const res = await nurse.inject({
      method: 'POST',
      url: `/api/v1/alarms/${heatId}/ack`,
      payload: { comment: 'moved the vials to the spare fridge' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json<Alarm>()).toMatchObject({
      state: 'acknowledged',
      acknowledged_by: nurse.actor,
    });
    await new Promise((r) => setImmediate(r));
    expect(events.at(-1)).toMatchObject({
      type: 'acknowledged',
      alarmId: heatId,
      actor: nurse.actor,
    });
    const detail = (await inject(`/api/v1/alarms/${heatId}`)).json<{
      actions: Array<{ action: string; by: string; comment: string | null }>;
    }>();
    expect(detail.actions.map((a) => [a.action, a.by, a.comment])).toEqual([
      ['raised', 'system', null],
      ['acknowledged', nurse.actor, 'moved the vials to the spare fridge'],
    ]);
  });

  it('answers 409 to a second acknowledgement, 404 to an unknown alarm, 400 to a bad body', async () => {
    const ack = (id: string, payload: unknown) =>
      inject({
        method: 'POST',
        url: `/api/v1/alarms/${id}/ack`,
        payload: payload as object,
      });
    const again = await ack(heatId, { by: 'someone.else' });
    expect([
      again.statusCode,
      again.json<{ error: { code: string } }>().error.code,
    ]).toEqual([409, 'ALARM_ALREADY_ACKNOWLEDGED']);
    expect((await ack('999999', { by: 'x' })).statusCode).toBe(404);
    expect((await ack('abc', { by: 'x' })).statusCode).toBe(400);
    const badBy = await ack(heatId, { by: 7, comment: 'who am I' });
    expect(badBy.statusCode).toBe(400);
    expect(badBy.json<{ error: { message: string } }>().error.message).toContain(
      '`by` is optional',
    );
    const longComment = await ack(heatId, { by: 'x', comment: 'y'.repeat(2001) });
    expect(longComment.json<{ error: { message: string } }>().error.message).toContain(
      '`comment`',
    );
  });
});

describe('profiles', () => {
  it('lists the built-in profiles with the vaccine fridge as 2–8 °C', async () => {
    const res = await inject('/api/v1/profiles');
    const profiles = res.json<{
      profiles: Array<{ name: string; rules: { range: object } }>;
    }>().profiles;
    expect(profiles.map((p) => p.name)).toEqual([
      'controlled_room',
      'freezer',
      'vaccine_fridge',
      'who_30dtr',
    ]);
    expect(profiles.find((p) => p.name === 'vaccine_fridge')!.rules.range).toEqual({
      low: 2,
      high: 8,
      inclusive: true,
    });
  });

  it('creates a custom profile and refuses one whose rules are wrong, naming each problem', async () => {
    const rules = {
      range: { low: 15, high: 25 },
      excursions: [{ id: 'heat', direction: 'high', raise_at: 25, minutes: 30 }],
    };
    const put = (payload: object) =>
      inject({ method: 'PUT', url: '/api/v1/profiles/pharmacy-shelf', payload });
    expect((await put({ kind: 'custom', rules, by: 'qm' })).statusCode).toBe(201);
    expect(
      (await put({ kind: 'custom', rules, by: 'qm', description: 'Shelf' })).statusCode,
    ).toBe(200);
    const bad = await put({
      rules: { range: { low: 25, high: 15 }, offline: { minutes: 0 } },
      by: 'qm',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ error: { code: string; message: string } }>().error).toEqual({
      code: 'PROFILE_INVALID',
      message:
        'The profile is not valid: rules.offline.minutes must be ≥ 1; rules.range low must be below high.',
    });
  });

  it("sets a device's profile, before the device ever reported, and records who changed what", async () => {
    const set = (profile: string, by: string) =>
      as[by]!.inject({
        method: 'PUT',
        url: '/api/v1/devices/new-freezer/profile',
        payload: { profile },
      });
    expect((await set('freezer', 'qm.anna')).statusCode).toBe(200);
    const now = (await inject('/api/v1/devices/new-freezer/profile')).json<{
      profile: { name: string };
      assigned_by: string;
    }>();
    expect([now.profile.name, now.assigned_by]).toEqual([
      'freezer',
      as['qm.anna']!.actor,
    ]);
    expect((await set('no-such', 'qm.anna')).statusCode).toBe(404);
    await set('pharmacy-shelf', 'qm.ben');
    const changes = (await inject('/api/v1/devices/new-freezer/profile/changes')).json<{
      changes: Array<{ by: string; old: { profile: string }; new: { profile: string } }>;
    }>().changes;
    expect(changes.map((c) => [c.by, c.old.profile, c.new.profile])).toEqual([
      [as['qm.anna']!.actor, 'vaccine_fridge', 'freezer'],
      [as['qm.ben']!.actor, 'freezer', 'pharmacy-shelf'],
    ]);
  });
});
