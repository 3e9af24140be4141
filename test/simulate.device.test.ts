import { describe, expect, it } from 'vitest';
import { heruFirmware } from '../src/ingest/codecs/heruFirmware.js';
import { heruV1 } from '../src/ingest/codecs/heruV1.js';
import { SimDevice, type SimDeviceOptions } from '../src/simulate/device.js';
import { deviceIds } from '../src/simulate/live.js';
import {
  firmwareMessage,
  heruV1Messages,
  type HeruV1Reading,
} from '../src/simulate/payload.js';
import { Random } from '../src/simulate/random.js';

const START = Date.UTC(2026, 0, 5, 8, 0);
const MINUTE = 60_000;

/** Runs a device for `n` readings `intervalMs` apart; returns what it sent and itself. */
function run(
  options: Omit<SimDeviceOptions, 'id' | 'random'>,
  n: number,
  seed = 7,
  intervalMs = MINUTE,
): { sent: Array<{ readings: HeruV1Reading[]; burst: boolean }>; device: SimDevice } {
  const device = new SimDevice({ id: 'fridge-1', random: new Random(seed), ...options });
  const sent = [];
  for (let k = 0; k < n; k++) sent.push(...device.tick(START + k * intervalMs));
  sent.push(...device.flush());
  return { sent, device };
}

const temperatures = (sent: ReturnType<typeof run>['sent']): number[] =>
  sent.flatMap((e) => e.readings.map((r) => r.temperature)).filter((t) => t !== null);

describe('a simulated fridge', () => {
  it('gives the same readings for the same seed, and others for another', () => {
    const a = run({ excursions: true, faults: true, offline: true }, 500, 42).sent;
    const b = run({ excursions: true, faults: true, offline: true }, 500, 42).sent;
    const c = run({ excursions: true, faults: true, offline: true }, 500, 43).sent;
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('keeps 4–6 °C with a compressor cycle when nothing goes wrong', () => {
    const t = temperatures(run({}, 24 * 60).sent);
    const inBand = t.filter((v) => v >= 3.5 && v <= 6.5).length;
    expect(inBand / t.length).toBeGreaterThan(0.9);
    const sorted = [...t].sort((a, b) => a - b);
    expect(sorted[Math.floor(t.length / 2)]).toBeGreaterThan(4.5);
    expect(sorted[Math.floor(t.length / 2)]).toBeLessThan(5.5);
    const crossings = t.filter((v, i) => i > 0 && t[i - 1]! < 5 !== v < 5).length;
    expect(crossings).toBeGreaterThan(2 * 40); // about 85 cycles a day, two crossings each
  });

  it('shows door openings as short spikes above the cycle', () => {
    const t = temperatures(run({}, 24 * 60).sent);
    expect(Math.max(...t)).toBeGreaterThan(6.8);
    expect(t.filter((v) => v > 8).length).toBeLessThan(30);
  });

  it('reads in 1/16 °C steps, as a DS18B20 does', () => {
    const t = temperatures(run({}, 200).sent);
    expect(t.every((v) => Math.abs(v * 16 - Math.round(v * 16)) < 0.1)).toBe(true);
  });

  it('warms past 8 °C and freezes below 0 °C during excursions', () => {
    const t = temperatures(run({ excursions: true }, 3 * 24 * 60).sent);
    expect(t.filter((v) => v > 8).length).toBeGreaterThan(60);
    expect(t.filter((v) => v < 0).length).toBeGreaterThan(10);
  });

  it('stays out of 2–8 °C only with --excursions', () => {
    const t = temperatures(run({}, 3 * 24 * 60).sent);
    expect(t.filter((v) => v < 2).length).toBe(0);
  });
});

describe('sensor faults', () => {
  const { sent } = run({ faults: true }, 2 * 24 * 60);
  const readings = sent.flatMap((e) => e.readings);

  it('sends −127 while the probe is lost and null for a failed read', () => {
    expect(readings.some((r) => r.temperature === -127)).toBe(true);
    expect(readings.some((r) => r.temperature === null)).toBe(true);
  });

  it('after a reboot counts the boot up, restarts the sequence and sends 85.0 first', () => {
    const firsts = readings.filter((r, i) => i > 0 && r.boot !== readings[i - 1]!.boot);
    expect(firsts.length).toBeGreaterThan(5);
    for (const r of firsts) {
      expect(r).toMatchObject({ seq: 0, temperature: 85 });
    }
  });

  it('never sends a fault without --faults', () => {
    const clean = run({}, 2 * 24 * 60).sent.flatMap((e) => e.readings);
    expect(clean.some((r) => r.temperature === -127 || r.temperature === 85)).toBe(false);
    expect(clean.every((r) => r.temperature !== null)).toBe(true);
  });
});

describe('offline periods', () => {
  it('buffers while offline and sends a burst with each reading’s own time and number', () => {
    const { sent, device } = run({ offline: true }, 24 * 60);
    const bursts = sent.filter((e) => e.burst);
    expect(bursts.length).toBeGreaterThan(5);
    for (const b of bursts) {
      const times = b.readings.map((r) => Date.parse(r.time));
      expect(times.every((t, i) => i === 0 || t - times[i - 1]! === MINUTE)).toBe(true);
      expect(b.readings.map((r) => r.seq)).toEqual(
        b.readings.map((_, i) => b.readings[0]!.seq + i),
      );
    }
    const all = sent.flatMap((e) => e.readings);
    expect(all.map((r) => r.seq)).toEqual(all.map((_, i) => all[0]!.seq + i));
    expect(all).toHaveLength(24 * 60);
    expect(device.lost).toBe(0);
  });

  it('loses the readings of an offline period when it does not buffer', () => {
    const { sent, device } = run({ offline: true, buffers: false }, 24 * 60);
    expect(sent.some((e) => e.burst)).toBe(false);
    expect(device.lost).toBeGreaterThan(0);
    expect(sent.flatMap((e) => e.readings).length + device.lost).toBe(24 * 60);
  });
});

describe('the messages it sends', () => {
  const { sent } = run({ offline: true, faults: true }, 12 * 60);

  it('are read by the server’s own codec with boot, sequence and time', () => {
    for (const e of sent) {
      for (const m of heruV1Messages('fridge-1', e.readings)) {
        const decoded = heruV1.decode(Buffer.from(m.payload), 'fridge-1');
        expect(decoded.drafts).toHaveLength(e.readings.length);
        expect(decoded.drafts[0]).toMatchObject({
          boot: e.readings[0]!.boot,
          seq: e.readings[0]!.seq,
          deviceTimeMs: Date.parse(e.readings[0]!.time),
        });
      }
    }
  });

  it('put one reading in an object and several in arrays of at most 500', () => {
    const r = sent[0]!.readings[0]!;
    const many = Array.from({ length: 1234 }, (_, i) => ({ ...r, seq: i }));
    expect(JSON.parse(heruV1Messages('d', [r])[0]!.payload)).toEqual(r);
    const msgs = heruV1Messages('d', many);
    expect(msgs.map((m) => m.readings)).toEqual([500, 500, 234]);
    expect(
      msgs.every((m) => m.qos === 1 && m.topic === 'heru/v1/devices/d/readings'),
    ).toBe(true);
  });

  it('can take the existing firmware’s form, which its codec reads', () => {
    const m = firmwareMessage('esp32_sensor_01', {
      boot: 1,
      seq: 1,
      time: new Date(START).toISOString(),
      temperature: 23.45,
      humidity: 45.6,
    });
    expect(m).toEqual({
      topic: 'heru/sensors/esp32_sensor_01',
      payload: '{"device_id": "esp32_sensor_01","temperature": 23.45,"humidity": 45.60}',
      qos: 0,
      readings: 1,
    });
    const decoded = heruFirmware.decode(Buffer.from(m.payload), 'esp32_sensor_01');
    expect(decoded.drafts).toEqual([{ temperature: 23.45, humidity: 45.6, unit: 'C' }]);
  });

  it('name devices with a zero-padded number', () => {
    expect(deviceIds('sim-fridge', 3)).toEqual([
      'sim-fridge-001',
      'sim-fridge-002',
      'sim-fridge-003',
    ]);
    expect(deviceIds('x', 1200).at(-1)).toBe('x-1200');
  });
});
