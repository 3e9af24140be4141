import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readAlarmConfig } from '../src/alarms/config.js';
import { AlarmEngine } from '../src/alarms/engine.js';
import { AlarmNotifier } from '../src/alarms/notifier.js';
import { parseRules } from '../src/alarms/profile.js';
import { putProfile, setDeviceProfile } from '../src/alarms/profileStore.js';
import { formatTime } from '../src/alarms/summary.js';
import { Watchdog } from '../src/alarms/watchdog.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { Feed } from './helpers/feed.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const log = createLogger('silent');
const MIN = 60_000;
let db: TestDatabase;
let pool: Pool;
let feed: Feed;
let notifier: AlarmNotifier;
let t0: number;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPool(db.url, log, { max: 4 });
  await migrate(pool, log);
  feed = new Feed(pool);
  notifier = new AlarmNotifier(log);
  const quick = parseRules({ range: { low: 2, high: 8 }, offline: { minutes: 5 } });
  await putProfile(
    pool,
    { name: 'quick', kind: 'custom', description: '', rules: quick },
    't',
    null,
  );
});

beforeEach(async () => {
  await pool.query(
    `truncate device, device_quarantine_count, reading_key, device_profile, alarm_action,
              alarm, alarm_device_state, alarm_watchdog cascade`,
  );
  t0 = Date.now();
  // The watchdog has been running for an hour: devices are expected to report.
  await pool.query(
    'insert into alarm_watchdog (id, last_tick_at, monitoring_since) values (1, $1, $2)',
    [new Date(t0 - 30_000), new Date(t0 - 60 * MIN)],
  );
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

function watchdog(
  outageAfterSeconds = 3600,
  probe?: () => Promise<string | null>,
): Watchdog {
  const config = { ...readAlarmConfig({}), outageAfterSeconds };
  return new Watchdog(pool, notifier, config, log, probe);
}

/** A message from each device, received `minutesAgo` before t0. */
async function seen(minutesAgo: number, ...devices: string[]): Promise<void> {
  const at = new Date(t0 - minutesAgo * MIN);
  for (const d of devices)
    await feed.store(d, [{ time: at, temperature: 5, receivedAt: at }]);
}

async function alarms(): Promise<string[]> {
  const { rows } = await pool.query<{ a: string }>(
    `select concat_ws(' ', kind, rule_id, device_id, state) as a from alarm order by id`,
  );
  return rows.map((r) => r.a);
}

const at = (minutes: number): Date => new Date(t0 + minutes * MIN);

describe('the offline watchdog', () => {
  it('raises one offline alarm for a silent device and clears it when the device reports', async () => {
    await seen(40, 'fridge-1');
    await seen(1, 'fridge-2', 'fridge-3', 'fridge-4', 'fridge-5');
    const w = watchdog();
    await w.tick(at(0));
    await w.tick(at(0.5));
    expect(await alarms()).toEqual(['device_offline offline fridge-1 open']);
    const engine = new AlarmEngine(pool, notifier, readAlarmConfig({}), log);
    engine.onStored(
      await feed.store('fridge-1', [{ time: at(1), temperature: 5, receivedAt: at(1) }]),
    );
    await engine.close();
    expect(await alarms()).toEqual(['device_offline offline fridge-1 cleared']);
  });

  it('says in the offline alarm that a device fell silent out of range, as a critical alarm', async () => {
    await seen(1, 'fridge-2', 'fridge-3', 'fridge-4', 'fridge-5');
    const engine = new AlarmEngine(pool, notifier, readAlarmConfig({}), log);
    const warm = [50, 45, 40].map((ago, i) => ({
      time: at(-ago),
      temperature: 9 + i * 0.3,
      receivedAt: at(-ago),
    }));
    engine.onStored(await feed.store('fridge-1', warm));
    await engine.close();
    await watchdog().tick(at(0));
    const { rows } = await pool.query<{
      severity: string;
      summary: string;
      detail: { out_of_range: unknown[] };
    }>(`select severity, summary, detail from alarm where rule_id = 'offline'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.severity).toBe('critical');
    expect(rows[0]!.summary).toBe(
      `fridge-1 silent since ${formatTime(at(-40).getTime(), 'UTC')} (no message for 30 min); ` +
        'its last readings were out of range: at or above 8.0 °C since ' +
        `${formatTime(at(-50).getTime(), 'UTC')}, peak 9.6 °C`,
    );
    expect(rows[0]!.detail.out_of_range).toEqual([
      {
        sensor: '',
        rule_id: 'heat',
        direction: 'high',
        limit: 8,
        since: at(-50).toISOString(),
        last_reading_at: at(-40).toISOString(),
        peak: 9.6,
      },
    ]);
  });

  it('does not watch a disabled device', async () => {
    await seen(40, 'fridge-1');
    await pool.query(
      `update device set status = 'disabled' where device_id = 'fridge-1'`,
    );
    await watchdog().tick(at(0));
    expect(await alarms()).toEqual([]);
  });

  it('raises an offline alarm for a device given a profile that never reported', async () => {
    await setDeviceProfile(pool, 'fridge-new', 'quick', 'qm', null);
    const w = watchdog();
    await w.tick(at(4));
    expect(await alarms()).toEqual([]);
    await w.tick(at(6));
    expect(await alarms()).toEqual(['device_offline offline fridge-new open']);
  });

  it('raises one operator alarm, not one per device, when most devices fall silent together', async () => {
    await seen(40, 'fridge-1', 'fridge-2', 'fridge-3', 'fridge-4');
    await seen(1, 'fridge-5');
    const w = watchdog();
    await w.tick(at(0));
    await w.tick(at(1));
    expect(await alarms()).toEqual(['operator fleet_silent open']);
    await seen(-2, 'fridge-1');
    await w.tick(at(3));
    await w.tick(at(20));
    expect(await alarms()).toEqual(['operator fleet_silent cleared']);
  });

  it('raises one operator alarm for 10 minutes without monitoring, and no offline alarm', async () => {
    const devices = ['fridge-1', 'fridge-2', 'fridge-3', 'fridge-4'];
    for (const d of devices) await setDeviceProfile(pool, d, 'quick', 'qm', null);
    await seen(1, ...devices);
    const w = watchdog(120);
    await w.tick(at(0));
    await w.tick(at(10));
    expect(await alarms()).toEqual(['operator monitoring_gap open']);
    await w.tick(at(10.5));
    await w.tick(at(12));
    expect(await alarms()).toEqual(['operator monitoring_gap cleared']);
  });

  it('raises one operator alarm when ingest fails longer than allowed, cleared when it works', async () => {
    let problem: string | null = 'mqtt: not connected to the broker';
    const w = watchdog(120, () => Promise.resolve(problem));
    for (const minute of [0, 1, 2, 3]) await w.tick(at(minute));
    expect(await alarms()).toEqual(['operator ingest_outage open']);
    problem = null;
    await w.tick(at(4));
    expect(await alarms()).toEqual(['operator ingest_outage cleared']);
  });
});
