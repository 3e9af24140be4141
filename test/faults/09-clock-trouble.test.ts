/**
 * Scenario 9: devices whose clocks disagree with the server's. The server's own clock
 * cannot be set apart from the machine's (the server has no setting for it), so the
 * devices' clocks are set wrong instead, both ways:
 *
 * - `clk-right`: right;
 * - `clk-ahead-3h`: three hours ahead, far beyond DEVICE_CLOCK_MAX_AHEAD: its
 *   readings take the server's receive time (`time_source` server, flagged);
 * - `clk-unset`: never set (1970), likewise;
 * - `clk-ahead-2m`: two minutes ahead, within the tolerance: its own time is kept;
 * - `clk-behind-3h`: three hours behind, which no server can tell from readings sent
 *   late: stored in its own time, evaluated as late readings (historical excursions).
 *
 * Each sends an excursion. The alarms must stand at the times of the readings as
 * stored, never at the times the wrong clocks gave; every reading stored and
 * anchored once.
 */
import mqtt from 'mqtt';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { pollUntil, storedCounts } from '../helpers/exactlyOnce.js';
import { useFaultRig } from '../helpers/faultRig.js';
import { tallyLocalAnchoring, untilEvaluated } from '../helpers/faultTally.js';
import { recordFigures } from './figures.js';

const HOUR = 3_600_000;

interface Device {
  id: string;
  /** Milliseconds the device's clock is off (ahead > 0), or an absolute epoch start. */
  clock: { offsetMs: number } | { fixedFromMs: number };
  /** Temperatures, one reading a message. */
  temperatures: number[];
  /** Milliseconds between readings in device time (and between sends when live). */
  stepMs: number;
  /** Whether the server should keep the device's time. */
  keeps: boolean;
}

const LIVE = [5, 5, 12.5, 5];
const DEVICES: Device[] = [
  { id: 'clk-right', clock: { offsetMs: 0 }, temperatures: LIVE, stepMs: 0, keeps: true },
  {
    id: 'clk-ahead-3h',
    clock: { offsetMs: 3 * HOUR },
    temperatures: LIVE,
    stepMs: 0,
    keeps: false,
  },
  {
    id: 'clk-unset',
    clock: { fixedFromMs: 10_000 },
    temperatures: LIVE,
    stepMs: 1_000,
    keeps: false,
  },
  {
    id: 'clk-ahead-2m',
    clock: { offsetMs: 120_000 },
    temperatures: LIVE,
    stepMs: 0,
    keeps: true,
  },
  {
    // Two hours of readings every 5 min: 75 minutes at 9 °C in the middle.
    id: 'clk-behind-3h',
    clock: { offsetMs: -3 * HOUR },
    temperatures: [...Array<number>(6).fill(5), ...Array<number>(15).fill(9), 5, 5, 5],
    stepMs: 5 * 60_000,
    keeps: true,
  },
];
const TOTAL = DEVICES.reduce((n, d) => n + d.temperatures.length, 0);

/** A reading as stored. */
interface Stored {
  seq: number;
  time: Date;
  time_source: string;
  device_time: Date | null;
  flags: string[];
  temperature_c: number;
}

interface Sent {
  seq: number;
  deviceTimeMs: number;
  /** On the test's clock (the machine's, as the server's): before sending, after stored. */
  before: number;
  after: number;
}

describe('scenario 9: device clocks hours ahead and behind the server', () => {
  const rig = useFaultRig('fault9');

  it('stores each reading with the right time source and alarms at its stored time', async () => {
    await rig.server({ clientId: 'heru-fault9' });
    const sent = new Map<string, Sent[]>();
    await Promise.all(
      DEVICES.map(async (d) => sent.set(d.id, await sendAll(rig.broker.url, d, rig.sql))),
    );
    await untilEvaluated(rig.sql, 'clk');
    const anchoring = await tallyLocalAnchoring(rig.sql, rig.dataDir);
    const counts = await storedCounts(rig.sql);
    const stored = new Map<string, Stored[]>();
    for (const d of DEVICES) stored.set(d.id, await readingsOf(rig.sql, d.id));
    const alarms = await alarmsOf(rig.sql);

    const bySource = (s: string) =>
      [...stored.values()].flat().filter((r) => r.time_source === s).length;
    await recordFigures({
      scenario: '9 clock trouble',
      sent: TOTAL,
      stored: counts.readings - counts.duplicates,
      duplicates: counts.duplicates,
      lost: TOTAL - (counts.readings - counts.duplicates),
      anchored: anchoring.batches,
      anchoredTwice: anchoring.anchoredTwice,
      notes:
        `time_source device ${bySource('device')}, server ${bySource('server')}; ` +
        `alarms: ${alarms.map((a) => `${a.device_id} ${a.kind}`).join(', ')}`,
    });

    expect(counts).toEqual({ readings: TOTAL, duplicates: 0 });
    expect(anchoring.anchoredReadings).toBe(TOTAL);
    expect(anchoring).toMatchObject({ anchoredTwice: 0, pinnedTwice: 0, orphans: 0 });

    const expected: AlarmSeen[] = [];
    for (const d of DEVICES) {
      const mine = stored.get(d.id)!;
      const out = sent.get(d.id)!;
      expect(mine.map((r) => r.seq)).toEqual(out.map((s) => s.seq));
      for (const [i, r] of mine.entries()) {
        const s = out[i]!;
        expect(r.device_time?.getTime()).toBe(s.deviceTimeMs);
        if (d.keeps) {
          expect([r.time_source, r.time.getTime(), r.flags]).toEqual([
            'device',
            s.deviceTimeMs,
            [],
          ]);
        } else {
          expect(r.time_source).toBe('server');
          expect(r.flags).toEqual([
            'offsetMs' in d.clock ? 'device_clock_ahead' : 'device_clock_unset',
          ]);
          expect(r.time.getTime()).toBeGreaterThanOrEqual(s.before);
          expect(r.time.getTime()).toBeLessThanOrEqual(s.after);
        }
      }
      expected.push(...expectedAlarms(d, mine));
    }
    expect(alarms).toEqual(expected.sort(byDeviceThenSince));
  }, 300_000);
});

/**
 * Sends the device's readings, each its own QoS 1 message, one after the other; a
 * live reading waits until the one before is stored, so each is received apart.
 */
async function sendAll(brokerUrl: string, d: Device, sql: pg.Pool): Promise<Sent[]> {
  const client = await mqtt.connectAsync(brokerUrl, { clientId: d.id });
  const out: Sent[] = [];
  try {
    const startMs = Date.now();
    for (const [seq, temperature] of d.temperatures.entries()) {
      const before = Date.now();
      const deviceTimeMs =
        'fixedFromMs' in d.clock
          ? d.clock.fixedFromMs + seq * d.stepMs
          : d.stepMs > 0
            ? startMs + d.clock.offsetMs + seq * d.stepMs
            : before + d.clock.offsetMs;
      const payload = { boot: 1, seq, time: new Date(deviceTimeMs).toISOString() };
      await client.publishAsync(
        `heru/v1/devices/${d.id}/readings`,
        JSON.stringify({ ...payload, temperature }),
        { qos: 1 },
      );
      await pollUntil(
        () => countOf(sql, d.id),
        (n) => n > seq,
        30_000,
        `reading ${seq} of ${d.id} stored`,
        20,
      );
      out.push({ seq, deviceTimeMs, before, after: Date.now() });
    }
  } finally {
    await client.endAsync();
  }
  return out;
}

async function countOf(sql: pg.Pool, deviceId: string): Promise<number> {
  const { rows } = await sql.query<{ n: number }>(
    'select count(*)::int as n from reading where device_id = $1',
    [deviceId],
  );
  return rows[0]!.n;
}

async function readingsOf(sql: pg.Pool, deviceId: string): Promise<Stored[]> {
  const { rows } = await sql.query<Stored>(
    `select seq::int, time, time_source, device_time, flags, temperature_c
     from reading where device_id = $1 order by seq`,
    [deviceId],
  );
  return rows;
}

interface AlarmSeen {
  device_id: string;
  rule_id: string;
  kind: string;
  historical: boolean;
  state: string;
  since: string;
  until: string | null;
}

async function alarmsOf(sql: pg.Pool): Promise<AlarmSeen[]> {
  const { rows } = await sql.query<AlarmSeen>(
    `select device_id, rule_id, kind, historical, state,
            to_char(since at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as since,
            to_char(until at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as until
     from alarm`,
  );
  return rows.sort(byDeviceThenSince);
}

const byDeviceThenSince = (a: AlarmSeen, b: AlarmSeen): number =>
  a.device_id.localeCompare(b.device_id) || a.since.localeCompare(b.since);

/** The alarms a device's readings must give, at the times they were stored with. */
function expectedAlarms(d: Device, mine: Stored[]): AlarmSeen[] {
  const iso = (t: Date) => t.toISOString();
  if (d.id === 'clk-behind-3h') {
    const first = mine.findIndex((r) => r.temperature_c >= 8);
    const back = mine.findIndex((r, i) => i > first && r.temperature_c < 7.5);
    return [
      {
        device_id: d.id,
        rule_id: 'heat',
        kind: 'historical_excursion',
        historical: true,
        state: 'cleared',
        since: iso(mine[first]!.time),
        until: iso(mine[back]!.time),
      },
    ];
  }
  const out = mine.findIndex((r) => r.temperature_c >= 12);
  return [
    {
      device_id: d.id,
      rule_id: 'heat_immediate',
      kind: 'excursion_immediate',
      historical: false,
      state: 'cleared',
      since: iso(mine[out]!.time),
      until: iso(mine[out + 1]!.time),
    },
  ];
}
