import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listActions, type AlarmRow } from '../src/alarms/alarmStore.js';
import { readAlarmConfig } from '../src/alarms/config.js';
import { AlarmEngine, fromReading } from '../src/alarms/engine.js';
import { AlarmNotifier } from '../src/alarms/notifier.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { PgliteWireServer } from '../src/embedded/pgWire.js';
import { createLogger } from '../src/log.js';
import { Feed, series, type SentReading } from './helpers/feed.js';
import { createTestDatabase } from './helpers/postgres.js';

const log = createLogger('silent');

/** When the backlog arrives: a day after the readings, so every one of them is late. */
const BACK = new Date('2024-07-02T12:00:00Z');

interface Rig {
  pool: Pool;
  feed: Feed;
  engine: AlarmEngine;
  close(): Promise<void>;
}

async function rigOn(url: URL, drop: () => Promise<void>): Promise<Rig> {
  const pool = createPool(url, log, { max: 4 });
  await migrate(pool, log);
  const engine = new AlarmEngine(pool, new AlarmNotifier(log), readAlarmConfig({}), log);
  await engine.start();
  return {
    pool,
    feed: new Feed(pool),
    engine,
    async close() {
      await engine.close();
      await pool.end();
      await drop();
    },
  };
}

async function postgresRig(): Promise<Rig> {
  const db = await createTestDatabase();
  return rigOn(db.url, () => db.drop());
}

async function pgliteRig(): Promise<Rig> {
  const lite = await PGlite.create();
  const wire = new PgliteWireServer(lite, log);
  const port = await wire.listen(0);
  return rigOn(new URL(`postgres://postgres@127.0.0.1:${port}/postgres`), async () => {
    await wire.close();
    await lite.close();
  });
}

/** Readings every 5 minutes from 10:00: `before` at 5 °C, then each spell and its pause. */
function backlog(parts: ReadonlyArray<[count: number, celsius: number]>): SentReading[] {
  const temps = parts.flatMap(([n, t]) => Array<number>(n).fill(t));
  return series('2024-07-01T10:00:00Z', 5, temps).map((r) => ({
    ...r,
    receivedAt: BACK,
  }));
}

const at = (minute: number): Date =>
  new Date(Date.parse('2024-07-01T10:00:00Z') + minute * 60_000);

describe.each([
  ['PostgreSQL', postgresRig],
  ['the embedded database (PGlite)', pgliteRig],
])('historical excursions from a backlog on %s', (_name, makeRig) => {
  let r: Rig;

  // Starting PGlite and migrating it takes long on a busy machine.
  beforeAll(async () => {
    r = await makeRig();
  }, 180_000);

  afterAll(async () => {
    await r?.close();
  });

  /** Stores and evaluates each message in its own turn, in the order given. */
  async function send(deviceId: string, messages: SentReading[][]): Promise<void> {
    for (const m of messages)
      await r.engine.evaluate((await r.feed.store(deviceId, m)).stored.map(fromReading));
  }

  async function historical(deviceId: string): Promise<AlarmRow[]> {
    const { rows } = await r.pool.query<AlarmRow>(
      `select id::text, rule_id, kind, historical, state, since, until, detail
       from alarm where device_id = $1 order by since`,
      [deviceId],
    );
    return rows;
  }

  const brief = (a: AlarmRow): unknown[] => [a.rule_id, a.kind, a.since, a.until];

  // 38 readings 5 minutes apart, 18 of them at 9 °C: 10:50 to 12:15, back at 12:20.
  const spell = backlog([
    [10, 5],
    [18, 9],
    [10, 5],
  ]);

  it('records one excursion for a warm spell split over two messages sent newest first', async () => {
    await send('split-newest', [spell.slice(19), spell.slice(0, 19)]);
    expect((await historical('split-newest')).map(brief)).toEqual([
      ['heat', 'historical_excursion', at(50), at(140)],
    ]);
  });

  it('records one excursion for the same spell sent oldest first', async () => {
    await send('split-oldest', [spell.slice(0, 19), spell.slice(19)]);
    expect((await historical('split-oldest')).map(brief)).toEqual([
      ['heat', 'historical_excursion', at(50), at(140)],
    ]);
  });

  it('adds nothing for late readings inside an excursion already recorded', async () => {
    // Four hours at 9 °C: 10:30 to 14:25, back at 14:30.
    await send('inside', [
      backlog([
        [6, 5],
        [48, 9],
        [6, 5],
      ]),
    ]);
    const before = await historical('inside');
    expect(before.map(brief)).toEqual([
      ['heat', 'historical_excursion', at(30), at(270)],
    ]);

    // Readings between those stored, in the middle of the spell, sent later still.
    const between = series('2024-07-01T12:32:30Z', 5, Array<number>(6).fill(9));
    await send('inside', [between.map((x) => ({ ...x, receivedAt: BACK }))]);
    const after = await historical('inside');
    expect(after.map(brief)).toEqual(before.map(brief));
    const trail = await listActions(r.pool, after[0]!.id);
    expect(trail.map((t) => t.action)).toEqual(['raised']);
  });

  it('keeps two warm spells apart when their messages arrive newest first', async () => {
    // 10:50–12:15 and 12:50–14:15 at 9 °C, in range between and after.
    const two = backlog([
      [10, 5],
      [18, 9],
      [6, 5],
      [18, 9],
      [8, 5],
    ]);
    await send('two-spells', [two.slice(40), two.slice(20, 40), two.slice(0, 20)]);
    expect((await historical('two-spells')).map(brief)).toEqual([
      ['heat', 'historical_excursion', at(50), at(140)],
      ['heat', 'historical_excursion', at(170), at(260)],
    ]);
  });

  it('records the late start of a spell that the live readings go on with', async () => {
    // Live from 11:35, at 9 °C: the live alarm starts then.
    const live = series('2024-07-01T11:35:00Z', 5, Array<number>(14).fill(9));
    await send('goes-on', [live]);
    // The buffer of the outage before, sent after: warm from 10:50.
    await send('goes-on', [spell.slice(0, 19)]);
    const { rows } = await r.pool.query<AlarmRow>(
      `select rule_id, kind, historical, since from alarm
       where device_id = 'goes-on' and rule_id = 'heat' order by historical`,
    );
    expect(rows.map((a) => [a.kind, a.historical, a.since])).toEqual([
      ['excursion_high', false, at(95)],
      ['historical_excursion', true, at(50)],
    ]);
  });

  it('joins the halves of a spell whose end was not yet known when it was recorded', async () => {
    // The first message ends inside the spell; the second holds the rest and the end.
    await send('open-end', [spell.slice(0, 25), spell.slice(25)]);
    const alarms = await historical('open-end');
    expect(alarms.map(brief)).toEqual([
      ['heat', 'historical_excursion', at(50), at(140)],
    ]);
    const trail = await listActions(r.pool, alarms[0]!.id);
    expect(trail.map((t) => t.action)).toEqual(['raised', 'updated']);
  });
});
