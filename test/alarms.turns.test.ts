import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listActions, type AlarmRow } from '../src/alarms/alarmStore.js';
import { readAlarmConfig } from '../src/alarms/config.js';
import { AlarmEngine, fromReading, type EngineReading } from '../src/alarms/engine.js';
import type { AlarmEvent } from '../src/alarms/events.js';
import { AlarmNotifier } from '../src/alarms/notifier.js';
import { parseRules, type Profile } from '../src/alarms/profile.js';
import { ReadingQueue } from '../src/alarms/readingQueue.js';
import { Urgency } from '../src/alarms/urgency.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { PgliteWireServer } from '../src/embedded/pgWire.js';
import { createLogger } from '../src/log.js';
import { Feed, series } from './helpers/feed.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const log = createLogger('silent');
const config = readAlarmConfig({});

/** A database with the schema, an engine on it, and the events it told. */
interface Rig {
  pool: Pool;
  feed: Feed;
  engine: AlarmEngine;
  events: AlarmEvent[];
  close(): Promise<void>;
}

async function rigOn(url: URL, drop: () => Promise<void>): Promise<Rig> {
  const pool = createPool(url, log, { max: 4 });
  await migrate(pool, log);
  const events: AlarmEvent[] = [];
  const notifier = new AlarmNotifier(log);
  notifier.addListener({ onAlarmEvent: (e) => events.push(e) });
  const engine = new AlarmEngine(pool, notifier, config, log);
  await engine.start();
  return {
    pool,
    feed: new Feed(pool),
    engine,
    events,
    async close() {
      await engine.close();
      await pool.end();
      await drop();
    },
  };
}

/** PostgreSQL: a fresh database on the local server. */
async function postgresRig(): Promise<Rig & { url: URL }> {
  const db: TestDatabase = await createTestDatabase();
  return { ...(await rigOn(db.url, () => db.drop())), url: db.url };
}

/** The embedded database: PGlite in memory, served over the wire protocol as in embedded mode. */
async function pgliteRig(): Promise<Rig> {
  const lite = await PGlite.create();
  const wire = new PgliteWireServer(lite, log);
  const port = await wire.listen(0);
  return rigOn(new URL(`postgres://postgres@127.0.0.1:${port}/postgres`), async () => {
    await wire.close();
    await lite.close();
  });
}

let rig: Rig & { url: URL };

beforeAll(async () => {
  rig = await postgresRig();
});

afterAll(async () => {
  await rig?.close();
});

function reading(deviceId: string, iso: string, temperatureC: number): EngineReading {
  const time = Date.parse(iso);
  return {
    deviceId,
    sensor: '',
    time,
    receivedAt: time + 1000,
    temperatureC,
    quality: 'good',
    flags: [],
    batteryPct: null,
    batteryV: null,
  };
}

async function alarmsOf(pool: Pool, deviceId: string): Promise<AlarmRow[]> {
  const { rows } = await pool.query<AlarmRow>(
    `select id::text, rule_id, kind, state, historical, since, until, detail
     from alarm where device_id = $1 order by alarm.id`,
    [deviceId],
  );
  return rows;
}

/** Waits, at most `ms`, until `check` holds. */
async function eventually(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('the condition never held');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each([
  ['PostgreSQL', () => Promise.resolve<Rig>(rig)],
  ['the embedded database (PGlite)', pgliteRig],
])('a turn of many devices on %s', (_name, makeRig) => {
  let r: Rig;
  let own = false;

  beforeAll(async () => {
    r = await makeRig();
    own = r !== rig;
  });

  afterAll(async () => {
    if (own) await r?.close();
  });

  it('keeps two episodes of one rule within one turn apart, for every device of the turn', async () => {
    const devices = Array.from({ length: 40 }, (_, i) => `turn-${i}`);
    const temps = [5, 13, 10, 13, 5];
    await r.engine.evaluate(
      devices.flatMap((d) =>
        temps.map((t, m) => reading(d, `2024-06-01T10:0${m}:00Z`, t)),
      ),
    );
    await new Promise((r) => setImmediate(r));
    for (const d of devices) {
      const alarms = await alarmsOf(r.pool, d);
      expect(
        alarms.map((a) => [a.rule_id, a.state, a.since.toISOString(), a.until]),
      ).toEqual([
        [
          'heat_immediate',
          'cleared',
          '2024-06-01T10:01:00.000Z',
          new Date('2024-06-01T10:02:00Z'),
        ],
        [
          'heat_immediate',
          'cleared',
          '2024-06-01T10:03:00.000Z',
          new Date('2024-06-01T10:04:00Z'),
        ],
      ]);
      const trail = await listActions(r.pool, alarms[1]!.id);
      expect(trail.map((t) => t.action)).toEqual(['raised', 'cleared']);
      const mine = r.events.filter((e) => e.deviceId === d);
      expect(mine.map((e) => [e.type, e.alarmId])).toEqual([
        ['raised', alarms[0]!.id],
        ['cleared', alarms[0]!.id],
        ['raised', alarms[1]!.id],
        ['cleared', alarms[1]!.id],
      ]);
    }
  });

  it('records the historical excursions of the late readings of several devices in one turn', async () => {
    const devices = ['late-a', 'late-b', 'late-c'];
    const back = new Date('2024-06-02T14:05:00Z');
    const late: EngineReading[] = [];
    for (const d of devices) {
      await r.engine.evaluate(
        (
          await r.feed.store(d, [{ time: '2024-06-02T14:00:00Z', temperature: 5 }])
        ).stored.map(fromReading),
      );
      const sent = series('2024-06-02T09:00:00Z', 10, [5, 9, 9, 9, 9, 9, 9, 9, 9, 5]);
      const stored = await r.feed.store(
        d,
        sent.map((x) => ({ ...x, receivedAt: back })),
      );
      late.push(...stored.stored.map(fromReading));
    }
    await r.engine.evaluate(late);
    for (const d of devices) {
      const alarms = await alarmsOf(r.pool, d);
      expect(alarms.map((a) => [a.kind, a.historical, a.since, a.until])).toEqual([
        [
          'historical_excursion',
          true,
          new Date('2024-06-02T09:10:00Z'),
          new Date('2024-06-02T10:30:00Z'),
        ],
      ]);
    }
  });

  it('evaluates a backlog and an urgent reading through both lanes at once', async () => {
    const backlog = series('2024-06-06T10:00:00Z', 1, Array<number>(200).fill(5));
    r.engine.onStored(await r.feed.store('lanes-a', backlog));
    r.engine.onStored(
      await r.feed.store('lanes-b', [{ time: '2024-06-06T10:05:00Z', temperature: 15 }]),
    );
    await r.engine.idle();
    expect((await alarmsOf(r.pool, 'lanes-b')).map((a) => a.rule_id)).toEqual([
      'heat_immediate',
    ]);
    const { rows } = await r.pool.query<{ through: Date }>(
      `select evaluated_through as through from alarm_device_state
       where device_id = 'lanes-a'`,
    );
    expect(rows[0]!.through).toEqual(new Date('2024-06-06T13:19:01Z'));
    expect(r.engine.backlog).toBe(0);
  });
});

describe('the urgent lane', () => {
  it('raises an immediate-level alarm while a turn of other devices waits', async () => {
    await rig.engine.evaluate([reading('backlog-1', '2024-06-03T10:00:00Z', 5)]);
    const blocker = new pg.Client({ connectionString: rig.url.toString() });
    await blocker.connect();
    try {
      // Holds the backlog device's rule state: the main lane's turn waits for it.
      await blocker.query('begin');
      await blocker.query(
        `select 1 from alarm_device_state where device_id = 'backlog-1' for update`,
      );
      const backlog = series('2024-06-03T10:01:00Z', 1, Array<number>(50).fill(5));
      rig.engine.onStored(await rig.feed.store('backlog-1', backlog));
      rig.engine.onStored(
        await rig.feed.store('hot-1', [
          { time: '2024-06-03T10:02:00Z', temperature: 14 },
        ]),
      );
      await eventually(async () => (await alarmsOf(rig.pool, 'hot-1')).length > 0);
      expect(
        (await alarmsOf(rig.pool, 'hot-1')).map((a) => [a.rule_id, a.state]),
      ).toEqual([['heat_immediate', 'open']]);
      const { rows } = await rig.pool.query<{ through: Date }>(
        `select evaluated_through as through from alarm_device_state
         where device_id = 'backlog-1'`,
      );
      expect(rows[0]!.through).toEqual(new Date('2024-06-03T10:00:01Z'));
    } finally {
      await blocker.query('rollback');
      await blocker.end();
    }
    await rig.engine.idle();
    const { rows } = await rig.pool.query<{ through: Date }>(
      `select evaluated_through as through from alarm_device_state
       where device_id = 'backlog-1'`,
    );
    expect(rows[0]!.through).toEqual(new Date('2024-06-03T10:50:01Z'));
  });
});

describe('the reading queue', () => {
  const r = (deviceId: string, minute: number): EngineReading =>
    reading(deviceId, `2024-06-04T10:${String(minute).padStart(2, '0')}:00Z`, 5);

  it("leaves a busy device's urgent reading until its turn is over", () => {
    const q = new ReadingQueue();
    q.push(r('a', 0), false);
    q.push(r('b', 0), false);
    const main = q.take('main', 100);
    expect(main.devices).toEqual(['a', 'b']);
    q.push(r('a', 1), true);
    q.push(r('c', 1), true);
    expect(q.take('urgent', 100).devices).toEqual(['c']);
    expect(q.hasWork('urgent')).toBe(false);
    q.release(main);
    const next = q.take('urgent', 100);
    expect(next.readings.map((x) => [x.deviceId, x.time])).toEqual([
      ['a', Date.parse('2024-06-04T10:01:00Z')],
    ]);
    expect(q.size).toBe(0);
  });

  it('takes devices in the order their readings came, the oldest first, up to the limit', () => {
    const q = new ReadingQueue();
    for (let m = 0; m < 3; m += 1) q.push(r('x', m), false);
    q.push(r('y', 0), false);
    q.push(r('z', 0), true);
    const first = q.take('main', 2);
    expect(first.readings.map((x) => x.deviceId)).toEqual(['x', 'x']);
    q.release(first);
    const second = q.take('main', 10);
    expect(second.readings.map((x) => [x.deviceId, x.time])).toEqual([
      ['x', Date.parse('2024-06-04T10:02:00Z')],
      ['y', Date.parse('2024-06-04T10:00:00Z')],
    ]);
    expect(q.take('urgent', 10).devices).toEqual(['z']);
  });
});

describe('which readings are urgent', () => {
  const profile = (name: string, rules: unknown): Profile => ({
    name,
    kind: 'custom',
    description: '',
    builtin: false,
    rules: parseRules(rules),
  });
  const fridge = profile('vaccine_fridge', {
    range: { low: 2, high: 8 },
    excursions: [
      { id: 'heat', direction: 'high', raise_at: 8, minutes: 60 },
      { id: 'freeze', direction: 'low', raise_at: 2, minutes: 60 },
    ],
  });
  const freezer = profile('deep', {
    range: { low: -25, high: -15 },
    excursions: [{ id: 'thaw', direction: 'high', raise_at: -15, minutes: 0 }],
  });

  it("judges by the device's profile, the default one until a turn has loaded it", () => {
    const u = new Urgency();
    u.learnProfiles([fridge, freezer]);
    expect(u.isUrgent('f1', reading('f1', '2024-06-05T10:00:00Z', 8))).toBe(true);
    expect(u.isUrgent('f1', reading('f1', '2024-06-05T10:00:00Z', 1.9))).toBe(true);
    expect(u.isUrgent('f1', reading('f1', '2024-06-05T10:00:00Z', 5))).toBe(false);
    expect(u.isUrgent('f1', reading('f1', '2024-06-05T10:00:00Z', -20))).toBe(true);
    u.learnDevice('f1', freezer);
    expect(u.isUrgent('f1', reading('f1', '2024-06-05T10:00:00Z', -20))).toBe(false);
    expect(u.isUrgent('f1', reading('f1', '2024-06-05T10:00:00Z', -14))).toBe(true);
  });

  it('never counts an invalid reading as urgent', () => {
    const u = new Urgency();
    u.learnProfiles([fridge]);
    const invalid = {
      ...reading('f2', '2024-06-05T10:00:00Z', 85),
      quality: 'invalid' as const,
    };
    expect(u.isUrgent('f2', invalid)).toBe(false);
  });
});
