import { describe, expect, it } from 'vitest';
import { backlog } from '../src/ingest/codecs/backlog.js';
import { Quarantine } from '../src/ingest/reasons.js';

function decode(payload: unknown) {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return backlog.decode(Buffer.from(text), 'esp32_sensor_01');
}

function verdict(payload: unknown): Quarantine {
  try {
    decode(payload);
  } catch (err) {
    if (err instanceof Quarantine) return err;
    throw err;
  }
  throw new Error('expected a quarantine');
}

describe('the backlog codec', () => {
  it('owns heru/sensors/{id}/backlog', () => {
    expect(backlog.deviceIdOf('heru/sensors/esp32_sensor_01/backlog')).toBe(
      'esp32_sensor_01',
    );
    expect(backlog.deviceIdOf('heru/sensors/esp32_sensor_01')).toBeUndefined();
  });

  it('reads a bare array of readings, each at its own time', () => {
    const out = decode([
      { time: 1767607200, temperature: 4.6, humidity: 51.2 },
      { ts: '2026-01-05T10:00:30Z', temperature: 4.7 },
      { timestamp: 1767607260000, temperature: 'nan' },
    ]);
    expect(out.drafts.map((d) => [d.deviceTimeMs, d.temperature])).toEqual([
      [1767607200000, 4.6],
      [1767607230000, 4.7],
      [1767607260000, NaN],
    ]);
  });

  it('reads an object with a readings array and the device it names', () => {
    const out = decode({
      device_id: 'esp32_sensor_01',
      readings: [{ time: 1767607200, temperature: 4.6 }],
    });
    expect(out.drafts).toHaveLength(1);
    expect(
      verdict({ device_id: 'other', readings: [{ time: 1, temperature: 1 }] }).reason,
    ).toBe('DEVICE_TOPIC_MISMATCH');
  });

  it('refuses a reading without its own time, naming it', () => {
    const q = verdict([{ time: 1767607200, temperature: 4.6 }, { temperature: 4.7 }]);
    expect(q.reason).toBe('INVALID_PAYLOAD');
    expect(q.detail).toContain('[1] has no time');
  });

  it('takes boot and sequence in place of a time', () => {
    expect(decode([{ boot: 3, seq: 9, temperature: 4.6 }]).drafts[0]!.seq).toBe(9);
  });

  it('refuses an empty backlog and a shape that is not one', () => {
    expect(verdict([]).detail).toBe('the backlog holds no readings');
    expect(verdict({ temperature: 4 }).reason).toBe('INVALID_PAYLOAD');
  });
});
