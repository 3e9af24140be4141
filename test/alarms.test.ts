import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acknowledgeAlarm,
  listActions,
  type AlarmRow,
} from '../src/alarms/alarmStore.js';
import { readAlarmConfig } from '../src/alarms/config.js';
import { AlarmEngine } from '../src/alarms/engine.js';
import type { AlarmEvent } from '../src/alarms/events.js';
import { AlarmNotifier } from '../src/alarms/notifier.js';
import { parseRules } from '../src/alarms/profile.js';
import { putProfile, setDeviceProfile } from '../src/alarms/profileStore.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { Feed, series, type SentReading } from './helpers/feed.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const log = createLogger('silent');
const config = readAlarmConfig({});

let db: TestDatabase;
let pool: Pool;
let feed: Feed;
let notifier: AlarmNotifier;
let engine: AlarmEngine;
const events: AlarmEvent[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPool(db.url, log, { max: 4 });
  await migrate(pool, log);
  feed = new Feed(pool);
  notifier = new AlarmNotifier(log);
  notifier.addListener({ onAlarmEvent: (e) => events.push(e) });
  engine = new AlarmEngine(pool, notifier, config, log);
  await engine.start();
});

afterAll(async () => {
  await engine?.close();
  await pool?.end();
  await db?.drop();
});

/** Stores the readings as ingest would, `perBatch` a commit, and lets the engine evaluate each. */
async function send(
  deviceId: string,
  readings: SentReading[],
  perBatch = 4,
): Promise<void> {
  for (let i = 0; i < readings.length; i += perBatch) {
    engine.onStored(await feed.store(deviceId, readings.slice(i, i + perBatch)));
  }
  await engine.idle();
  await new Promise((r) => setImmediate(r));
}

async function alarmsOf(deviceId: string): Promise<AlarmRow[]> {
  const { rows } = await pool.query<AlarmRow>(
    `select id::text, rule_id, kind, state, historical, since, until, acknowledged_by, summary,
            detail, sensor
     from alarm where device_id = $1 order by alarm.id`,
    [deviceId],
  );
  return rows;
}

const at = (iso: string): Date => new Date(iso);

describe('alarms from sequences of readings', () => {
  it('raises one alarm for a 100-minute excursion, not one per reading, and clears it in range', async () => {
    await send(
      'fridge-a',
      series('2024-05-01T10:00:00Z', 5, [5, ...Array<number>(20).fill(9), 5]),
    );
    const alarms = await alarmsOf('fridge-a');
    expect(alarms.map((a) => [a.rule_id, a.kind, a.state])).toEqual([
      ['heat', 'excursion_high', 'cleared'],
    ]);
    expect(alarms[0]!.since).toEqual(at('2024-05-01T10:05:00Z'));
    expect(alarms[0]!.until).toEqual(at('2024-05-01T11:45:00Z'));
    expect(alarms[0]!.detail).toMatchObject({
      peak: 9,
      reached_at: '2024-05-01T11:05:00.000Z',
    });
    const trail = await listActions(pool, alarms[0]!.id);
    expect(trail.map((t) => [t.action, t.by])).toEqual([
      ['raised', 'system'],
      ['cleared', 'system'],
    ]);
    const mine = events.filter((e) => e.deviceId === 'fridge-a');
    expect(mine.map((e) => e.type)).toEqual(['raised', 'cleared']);
    expect(mine[0]!.summary).toContain('fridge-a at 9.0 °C since 2024-05-01 10:05 UTC');
  });

  it('keeps an acknowledged excursion active until the readings are back in range', async () => {
    await send('fridge-b', series('2024-05-01T10:00:00Z', 10, [9, 9, 9, 9, 9, 9, 9]));
    const [open] = await alarmsOf('fridge-b');
    expect(open!.state).toBe('open');
    const ack = await acknowledgeAlarm(pool, open!.id, 'nurse.jane', 'door was open');
    expect(ack.outcome).toBe('acknowledged');
    await send('fridge-b', series('2024-05-01T11:10:00Z', 10, [9.5, 10, 9]));
    const [still] = await alarmsOf('fridge-b');
    expect([still!.id, still!.state]).toEqual([open!.id, 'acknowledged']);
    await send('fridge-b', series('2024-05-01T11:40:00Z', 10, [6]));
    const after = await alarmsOf('fridge-b');
    expect(after.map((a) => [a.id, a.state, a.acknowledged_by])).toEqual([
      [open!.id, 'cleared', 'nurse.jane'],
    ]);
    const trail = await listActions(pool, open!.id);
    expect(trail.map((t) => [t.action, t.by, t.comment])).toEqual([
      ['raised', 'system', null],
      ['acknowledged', 'nurse.jane', 'door was open'],
      ['cleared', 'system', null],
    ]);
  });

  it('raises the immediate alarm at the first reading at or above 12 °C', async () => {
    await send('fridge-c', series('2024-05-01T10:00:00Z', 1, [5, 12.5]));
    const alarms = await alarmsOf('fridge-c');
    expect(alarms.map((a) => [a.rule_id, a.kind, a.state])).toEqual([
      ['heat_immediate', 'excursion_immediate', 'open'],
    ]);
    expect(alarms[0]!.since).toEqual(at('2024-05-01T10:01:00Z'));
  });

  it('raises one sensor fault and no temperature alarm for a DS18B20 sending −127', async () => {
    await send(
      'fridge-d',
      series('2024-05-01T10:00:00Z', 1, [5, -127, -127, -127, -127, -127, -127]),
    );
    const alarms = await alarmsOf('fridge-d');
    expect(alarms.map((a) => [a.rule_id, a.kind, a.state])).toEqual([
      ['sensor_fault', 'sensor_fault', 'open'],
    ]);
    expect(alarms[0]!.detail).toMatchObject({ flags: ['sensor_disconnected'] });
  });

  it('raises one sensor fault and no temperature alarm for a DS18B20 rebooting with 85.0', async () => {
    const boot = (seq: number, temperature: number, minute: number): SentReading => ({
      time: new Date(Date.parse('2024-05-01T10:00:00Z') + minute * 60_000),
      boot: 7,
      seq,
      temperature,
    });
    await send('fridge-e', [
      boot(0, 85, 0),
      boot(1, 85, 1),
      boot(2, 85, 2),
      boot(3, 85, 3),
    ]);
    const alarms = await alarmsOf('fridge-e');
    expect(alarms.map((a) => [a.rule_id, a.kind])).toEqual([
      ['sensor_fault', 'sensor_fault'],
    ]);
    expect(alarms[0]!.detail).toMatchObject({ flags: ['power_on_value'] });
  });

  it('keeps a timer across a restart: an excursion begun before it raises after it', async () => {
    await send('fridge-f', series('2024-05-01T10:00:00Z', 10, [9, 9, 9, 9]));
    await engine.close();
    engine = new AlarmEngine(pool, notifier, config, log);
    await engine.start();
    await send('fridge-f', series('2024-05-01T10:40:00Z', 10, [9, 9, 9]));
    const alarms = await alarmsOf('fridge-f');
    expect(alarms.map((a) => [a.rule_id, a.since.toISOString()])).toEqual([
      ['heat', '2024-05-01T10:00:00.000Z'],
    ]);
  });

  it('evaluates at start the readings stored but never evaluated (a crash in between)', async () => {
    await send('fridge-g', series('2024-05-01T10:00:00Z', 10, [5]));
    await feed.store(
      'fridge-g',
      series('2024-05-01T10:10:00Z', 10, [9, 9, 9, 9, 9, 9, 9]),
    );
    expect(await alarmsOf('fridge-g')).toEqual([]);
    await engine.close();
    engine = new AlarmEngine(pool, notifier, config, log);
    await engine.start();
    expect((await alarmsOf('fridge-g')).map((a) => a.rule_id)).toEqual(['heat']);
  });

  it('raises a historical excursion for late readings without touching the live state', async () => {
    await send('fridge-h', series('2024-05-01T10:00:00Z', 5, [5, 5]));
    const back = at('2024-05-01T14:00:00Z');
    const late = series('2024-05-01T10:10:00Z', 5, [
      5,
      ...Array<number>(17).fill(9),
      ...Array<number>(20).fill(5),
    ]).map((r) => ({ ...r, receivedAt: back }));
    await send('fridge-h', [{ time: back, temperature: 5 }, ...late], 100);
    const alarms = await alarmsOf('fridge-h');
    expect(alarms.map((a) => [a.kind, a.historical, a.state])).toEqual([
      ['historical_excursion', true, 'cleared'],
    ]);
    expect([alarms[0]!.since, alarms[0]!.until]).toEqual([
      at('2024-05-01T10:15:00Z'),
      at('2024-05-01T11:40:00Z'),
    ]);
    expect(alarms[0]!.summary).toBe(
      'fridge-h was at or above 8.0 °C from 2024-05-01 10:15 UTC to 2024-05-01 11:40 UTC ' +
        '(peak 9.0 °C), reported 2024-05-01 14:00 UTC',
    );
  });

  it('lets late readings in range neither clear the live alarm nor repeat it as historical', async () => {
    await send('fridge-i', series('2024-05-01T10:00:00Z', 10, [9, 9, 9, 9, 9, 9, 9, 9]));
    const back = at('2024-05-01T14:00:00Z');
    const late = series('2024-05-01T11:20:00Z', 10, Array<number>(15).fill(5)).map(
      (r) => ({
        ...r,
        receivedAt: back,
      }),
    );
    await send('fridge-i', [...late, { time: back, temperature: 9 }], 100);
    expect(
      (await alarmsOf('fridge-i')).map((a) => [a.rule_id, a.state, a.historical]),
    ).toEqual([['heat', 'open', false]]);
    await send('fridge-i', [{ time: '2024-05-01T14:05:00Z', temperature: 5 }]);
    expect((await alarmsOf('fridge-i')).map((a) => a.state)).toEqual(['cleared']);
  });

  it('raises low battery once and clears it when the battery is charged again', async () => {
    const levels = [50, 19, 18, 17, 30];
    const readings = levels.map((battery_pct, i) => ({
      time: new Date(Date.parse('2024-05-01T10:00:00Z') + i * 600_000),
      temperature: 5,
      battery_pct,
    }));
    await send('fridge-j', readings);
    expect((await alarmsOf('fridge-j')).map((a) => [a.kind, a.state])).toEqual([
      ['low_battery', 'cleared'],
    ]);
  });

  it('keeps the alarms of the probes of one device apart', async () => {
    const probe = (sensor: string, t: number) =>
      series('2024-05-01T10:00:00Z', 10, Array<number>(8).fill(t)).map((r) => ({
        ...r,
        sensor,
      }));
    await send('fridge-k', [...probe('top', 9), ...probe('bottom', 1)]);
    const alarms = await alarmsOf('fridge-k');
    expect(alarms.map((a) => [a.sensor, a.rule_id]).sort()).toEqual([
      ['bottom', 'freeze'],
      ['top', 'heat'],
    ]);
  });

  it("clears the alarms of rules the device's new profile does not have", async () => {
    await send('fridge-m', series('2024-05-01T10:00:00Z', 10, Array<number>(7).fill(9)));
    const rules = parseRules({ range: { low: 2, high: 8 }, offline: { minutes: 30 } });
    await putProfile(
      pool,
      { name: 'bare', kind: 'custom', description: '', rules },
      'qm',
      null,
    );
    await setDeviceProfile(pool, 'fridge-m', 'bare', 'qm', null);
    await send('fridge-m', series('2024-05-01T11:10:00Z', 10, [9]));
    const alarms = await alarmsOf('fridge-m');
    expect(alarms.map((a) => [a.rule_id, a.state, a.detail.cleared_because])).toEqual([
      ['heat', 'cleared', 'rule_removed'],
    ]);
  });

  it("carries the device's site to its alarms and their events", async () => {
    await send('fridge-n', series('2024-05-01T10:00:00Z', 1, [5]));
    await pool.query(
      `update device set site = 'clinic-north' where device_id = 'fridge-n'`,
    );
    await send('fridge-n', series('2024-05-01T10:01:00Z', 1, [12]));
    const { rows } = await pool.query<{ site: string }>(
      `select site from alarm where device_id = 'fridge-n'`,
    );
    expect(rows).toEqual([{ site: 'clinic-north' }]);
    expect(events.find((e) => e.deviceId === 'fridge-n')?.site).toBe('clinic-north');
  });

  it('raises the alarm and informs the other listeners when one listener throws', async () => {
    notifier.addListener({
      onAlarmEvent: () => {
        throw new Error('listener broken');
      },
    });
    await send('fridge-l', series('2024-05-01T10:00:00Z', 1, [13]));
    expect((await alarmsOf('fridge-l')).map((a) => a.rule_id)).toEqual([
      'heat_immediate',
    ]);
    expect(events.some((e) => e.deviceId === 'fridge-l')).toBe(true);
  });
});
