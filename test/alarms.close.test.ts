import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../src/auth/roles.js';
import { createToken } from '../src/auth/tokenStore.js';
import { readAlarmConfig } from '../src/alarms/config.js';
import { AlarmEngine } from '../src/alarms/engine.js';
import type { AlarmEvent } from '../src/alarms/events.js';
import { AlarmNotifier } from '../src/alarms/notifier.js';
import { Watchdog } from '../src/alarms/watchdog.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { Health } from '../src/health.js';
import { buildServer } from '../src/http/server.js';
import { createLogger } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';
import { authedInject } from './helpers/apiToken.js';
import { Feed, series, type SentReading } from './helpers/feed.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const log = createLogger('silent');
const MIN = 60_000;
let db: TestDatabase;
let pool: Pool;
let http: FastifyInstance;
let notifier: AlarmNotifier;
let engine: AlarmEngine;
let feed: Feed;
const events: AlarmEvent[] = [];
type Inject = ReturnType<typeof authedInject>;
const as: Record<string, { inject: Inject; actor: string }> = {};

interface Alarm {
  id: string;
  device_id: string;
  rule_id: string;
  kind: string;
  state: string;
  until: string | null;
  detail: Record<string, unknown>;
}

interface Action {
  action: string;
  by: string;
  comment: string | null;
  detail: Record<string, unknown>;
}

interface ErrorBody {
  error: { code: string; message: string };
}

async function person(name: string, role: Role): Promise<void> {
  const { token, row } = await createToken(pool, { name, role, by: 'test' });
  as[name] = { inject: authedInject(http, token), actor: `${name} (token ${row.id})` };
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPool(db.url, log, { max: 4 });
  await migrate(pool, log);
  notifier = new AlarmNotifier(log);
  notifier.addListener({ onAlarmEvent: (e) => events.push(e) });
  engine = new AlarmEngine(pool, notifier, readAlarmConfig({}), log);
  await engine.start();
  feed = new Feed(pool);
  http = buildServer({
    pool,
    log,
    health: new Health(),
    metrics: createMetrics(),
    ready: () => true,
    api: true,
    alarms: notifier,
  });
  await person('nurse.jane', 'operator');
  await person('viewer.vic', 'viewer');
  await person('it.admin', 'admin');
});

afterAll(async () => {
  await engine?.close();
  await http?.close();
  await pool?.end();
  await db?.drop();
});

async function send(deviceId: string, readings: SentReading[]): Promise<void> {
  engine.onStored(await feed.store(deviceId, readings));
  await engine.idle();
}

async function alarmOf(deviceId: string, ruleId: string): Promise<Alarm> {
  const res = await as['it.admin']!.inject(`/api/v1/alarms?device=${deviceId}`);
  const found = res.json<{ alarms: Alarm[] }>().alarms.find((a) => a.rule_id === ruleId);
  if (!found) throw new Error(`no ${ruleId} alarm of ${deviceId}`);
  return found;
}

function close(who: string, id: string, payload: unknown) {
  return as[who]!.inject({
    method: 'POST',
    url: `/api/v1/alarms/${id}/close`,
    payload: payload as object,
  });
}

async function disable(deviceId: string): Promise<void> {
  const res = await as['it.admin']!.inject({
    method: 'PATCH',
    url: `/api/v1/devices/${deviceId}`,
    payload: { status: 'disabled', comment: 'taken out of service' },
  });
  expect(res.statusCode, res.body).toBe(200);
}

describe('POST /api/v1/alarms/{id}/close', () => {
  it("closes a retired device's offline alarm with who and why, and tells the listeners", async () => {
    const last = new Date(Date.now() - 45 * MIN);
    await send('retired-1', [{ time: last, temperature: 5, receivedAt: last }]);
    // The watchdog has been running for an hour: the device was expected to report.
    await pool.query(
      `insert into alarm_watchdog (id, last_tick_at, monitoring_since)
       values (1, now() - interval '30 seconds', now() - interval '1 hour')`,
    );
    const config = { ...readAlarmConfig({}), outageAfterSeconds: 86_400 };
    await new Watchdog(pool, notifier, config, log).tick(new Date());
    const offline = await alarmOf('retired-1', 'offline');
    expect(offline.state).toBe('open');
    await disable('retired-1');

    const nurse = as['nurse.jane']!;
    const res = await close('nurse.jane', offline.id, {
      reason: 'fridge retired and emptied on 3 March',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<Alarm>()).toMatchObject({
      state: 'cleared',
      detail: {
        closed_by: nurse.actor,
        close_reason: 'fridge retired and emptied on 3 March',
      },
    });
    expect(res.json<Alarm>().until).not.toBeNull();
    await new Promise((r) => setImmediate(r));
    expect(events.at(-1)).toMatchObject({
      type: 'cleared',
      alarmId: offline.id,
      actor: nurse.actor,
    });
    const trail = (await nurse.inject(`/api/v1/alarms/${offline.id}`)).json<{
      actions: Action[];
    }>().actions;
    expect(trail.map((a) => [a.action, a.by, a.comment, a.detail])).toEqual([
      ['raised', 'system', null, { minutes: 30 }],
      ['cleared', nurse.actor, 'fridge retired and emptied on 3 March', { manual: true }],
    ]);
  });

  it('refuses to close an excursion while the readings are out of range, with a clear 409', async () => {
    await send('warm-1', series('2024-07-01T10:00:00Z', 10, [5, 9, 9, 9, 9, 9, 9, 9]));
    const heat = await alarmOf('warm-1', 'heat');
    const res = await close('nurse.jane', heat.id, { reason: 'looks fine to me' });
    expect(res.statusCode).toBe(409);
    const { error } = res.json<ErrorBody>();
    expect(error.code).toBe('ALARM_STILL_OUT_OF_RANGE');
    expect(error.message).toContain(
      'warm-1 is out of range since 2024-07-01 10:10 UTC; last reading 2024-07-01 11:10 UTC',
    );
    expect(error.message).toContain('first reading back in range');
    expect((await alarmOf('warm-1', 'heat')).state).toBe('open');

    await send('warm-1', series('2024-07-01T11:20:00Z', 10, [5]));
    expect((await alarmOf('warm-1', 'heat')).state).toBe('cleared');
    const again = await close('nurse.jane', heat.id, { reason: 'done' });
    expect([again.statusCode, again.json<ErrorBody>().error.code]).toEqual([
      409,
      'ALARM_ALREADY_CLEARED',
    ]);
  });

  it('closes the excursion of a disabled device, and its next excursion raises a new alarm', async () => {
    await send('warm-2', series('2024-07-02T10:00:00Z', 1, [5, 13]));
    const first = await alarmOf('warm-2', 'heat_immediate');
    expect((await close('nurse.jane', first.id, { reason: 'x' })).statusCode).toBe(409);
    await disable('warm-2');
    const res = await close('nurse.jane', first.id, { reason: 'unplugged, stock moved' });
    expect(res.statusCode, res.body).toBe(200);

    // Back in service and still warm: a new episode, a new alarm.
    await as['it.admin']!.inject({
      method: 'PATCH',
      url: '/api/v1/devices/warm-2',
      payload: { status: 'active' },
    });
    await send('warm-2', series('2024-07-02T10:05:00Z', 1, [13.5]));
    const { rows } = await pool.query<{ state: string; since: Date }>(
      `select state, since from alarm
       where device_id = 'warm-2' and rule_id = 'heat_immediate' order by alarm.id`,
    );
    expect(rows).toEqual([
      { state: 'cleared', since: new Date('2024-07-02T10:01:00Z') },
      { state: 'open', since: new Date('2024-07-02T10:05:00Z') },
    ]);
  });

  it('needs a reason and the operator role; answers 404 to an unknown alarm', async () => {
    await send('warm-3', series('2024-07-03T10:00:00Z', 1, [5, 13, 5]));
    const id = (await alarmOf('warm-3', 'heat_immediate')).id;
    const none = await close('nurse.jane', id, {});
    expect([none.statusCode, none.json<ErrorBody>().error.message]).toEqual([
      400,
      '`reason` must say why the alarm is closed by hand: text of 1 to 2000 characters.',
    ]);
    expect((await close('nurse.jane', id, { reason: '  ' })).statusCode).toBe(400);
    const viewer = await close('viewer.vic', id, { reason: 'not mine to close' });
    expect(viewer.statusCode).toBe(403);
    expect((await close('nurse.jane', '999999', { reason: 'x' })).statusCode).toBe(404);
    expect((await close('nurse.jane', 'abc', { reason: 'x' })).statusCode).toBe(400);
  });
});
