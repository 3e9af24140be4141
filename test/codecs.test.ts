import { describe, expect, it } from 'vitest';
import { heruFirmware } from '../src/ingest/codecs/heruFirmware.js';
import { heruV1, MAX_READINGS_PER_MESSAGE } from '../src/ingest/codecs/heruV1.js';
import { parseIsoTime } from '../src/ingest/codecs/isoTime.js';
import { Quarantine, type QuarantineReason } from '../src/ingest/reasons.js';

const V1_DEVICE = 'fridge-7';

function v1(payload: string | Buffer): ReturnType<typeof heruV1.decode> {
  return heruV1.decode(
    Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
    V1_DEVICE,
  );
}

function firmware(payload: string): ReturnType<typeof heruFirmware.decode> {
  return heruFirmware.decode(Buffer.from(payload), 'esp32_sensor_01');
}

/** The quarantine a decode throws, or a failure when it returns. */
function verdict(decode: () => unknown): Quarantine {
  try {
    decode();
  } catch (err) {
    if (err instanceof Quarantine) return err;
    throw err;
  }
  throw new Error('expected a quarantine, the payload was accepted');
}

function reasonOf(decode: () => unknown): QuarantineReason {
  return verdict(decode).reason;
}

describe('topics', () => {
  it('takes the device id from heru/v1/devices/{id}/readings', () => {
    expect(heruV1.deviceIdOf('heru/v1/devices/fridge-7/readings')).toBe('fridge-7');
    expect(heruV1.deviceIdOf('heru/v1/devices/fridge-7/status')).toBeUndefined();
    expect(heruV1.deviceIdOf('heru/v1/devices/readings')).toBeUndefined();
  });

  it('takes the device id from heru/sensors/{id}, empty when the level is empty', () => {
    expect(heruFirmware.deviceIdOf('heru/sensors/esp32_sensor_01')).toBe(
      'esp32_sensor_01',
    );
    expect(heruFirmware.deviceIdOf('heru/sensors/')).toBe('');
    expect(heruFirmware.deviceIdOf('heru/sensors/a/b')).toBeUndefined();
  });
});

describe('the Heru firmware codec', () => {
  it('reads the payload the firmware sends, in °C, with no time', () => {
    const out = firmware(
      '{"device_id": "esp32_sensor_01","temperature": 23.45,"humidity": 45.60}',
    );
    expect(out).toEqual({
      deviceId: 'esp32_sensor_01',
      drafts: [{ temperature: 23.45, humidity: 45.6, unit: 'C' }],
    });
  });

  it('refuses a bare nan token as INVALID_JSON', () => {
    const q = verdict(() =>
      firmware('{"device_id": "esp32_sensor_01","temperature": nan,"humidity": 45.60}'),
    );
    expect(q.reason).toBe('INVALID_JSON');
    expect(q.detail).toContain('payload starts');
  });

  it('refuses a cut-off payload as INVALID_JSON', () => {
    expect(reasonOf(() => firmware('{"device_id": "esp32_sensor_01","temper'))).toBe(
      'INVALID_JSON',
    );
  });

  it('refuses a device_id that disagrees with the topic', () => {
    const q = verdict(() =>
      firmware('{"device_id": "esp32_sensor_02","temperature": 4}'),
    );
    expect(q.reason).toBe('DEVICE_TOPIC_MISMATCH');
    expect(q.detail).toContain('esp32_sensor_02');
  });

  it('refuses wrong types: a boolean temperature, a numeric device_id, an array', () => {
    expect(reasonOf(() => firmware('{"temperature": true}'))).toBe('INVALID_PAYLOAD');
    expect(reasonOf(() => firmware('{"device_id": 1, "temperature": 4}'))).toBe(
      'INVALID_PAYLOAD',
    );
    expect(reasonOf(() => firmware('[{"temperature": 4}]'))).toBe('INVALID_PAYLOAD');
    expect(reasonOf(() => firmware('{"device_id": "esp32_sensor_01"}'))).toBe(
      'INVALID_PAYLOAD',
    );
  });
});

describe('measurements as firmwares write them', () => {
  const temperatureOf = (raw: string): number | null | undefined =>
    v1(`{"temperature": ${raw}}`).drafts[0]!.temperature;

  it('passes NaN on from "nan", "NaN", "-nan" and " NAN " strings', () => {
    for (const s of ['"nan"', '"NaN"', '"-nan"', '" NAN "'])
      expect(temperatureOf(s)).toBeNaN();
  });

  it('passes ±Infinity on from "inf", "Infinity", "+Infinity", "-inf", "-Infinity"', () => {
    expect(temperatureOf('"inf"')).toBe(Infinity);
    expect(temperatureOf('"Infinity"')).toBe(Infinity);
    expect(temperatureOf('"+Infinity"')).toBe(Infinity);
    expect(temperatureOf('"-inf"')).toBe(-Infinity);
    expect(temperatureOf('"-Infinity"')).toBe(-Infinity);
  });

  it('passes on a JSON number too large for a double as Infinity', () => {
    expect(temperatureOf('1e999')).toBe(Infinity);
    expect(temperatureOf('-1e999')).toBe(-Infinity);
  });

  it('passes null on as null (the device says the read failed)', () => {
    expect(temperatureOf('null')).toBeNull();
  });

  it('reads a decimal number in a string, and nothing that only looks like one', () => {
    expect(temperatureOf('"4.25"')).toBe(4.25);
    expect(temperatureOf('"-127.44"')).toBe(-127.44);
    for (const s of ['"0x10"', '"0b101"', '""', '"4,25"', '"4 °C"', '"constructor"'])
      expect(reasonOf(() => temperatureOf(s))).toBe('INVALID_PAYLOAD');
  });

  it('names a nested value in the detail instead of printing it', () => {
    const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    const q = verdict(() => v1(`{"temperature": ${deep}}`));
    expect(q.reason).toBe('INVALID_PAYLOAD');
    expect(q.detail).toBe('temperature must be a number, got an array');
  });
});

describe('this server’s own format (heru/v1)', () => {
  it('reads every field of one reading', () => {
    const out = v1(
      JSON.stringify({
        device_id: V1_DEVICE,
        boot: 12,
        seq: 3345,
        time: '2026-01-05T10:00:00Z',
        temperature: 4.62,
        unit: 'C',
        humidity: 51.2,
        battery_pct: 87,
        battery_v: 3.71,
        rssi: -67,
        sensor: 'probe-1',
      }),
    );
    expect(out.drafts).toEqual([
      {
        temperature: 4.62,
        humidity: 51.2,
        unit: 'C',
        sensor: 'probe-1',
        deviceTimeMs: Date.UTC(2026, 0, 5, 10),
        boot: 12,
        seq: 3345,
        batteryPct: 87,
        batteryV: 3.71,
        rssi: -67,
      },
    ]);
  });

  it('accepts "F" in any case and with a degree sign, and refuses other units', () => {
    expect(v1('{"temperature": 40, "unit": "f"}').drafts[0]!.unit).toBe('F');
    expect(v1('{"temperature": 40, "unit": "°F"}').drafts[0]!.unit).toBe('F');
    expect(v1('{"temperature": 4, "unit": "°C"}').drafts[0]!.unit).toBe('C');
    expect(reasonOf(() => v1('{"temperature": 277, "unit": "K"}'))).toBe(
      'INVALID_PAYLOAD',
    );
  });

  it('reads an array of readings in order', () => {
    const out = v1('[{"seq": 1, "temperature": 4.1}, {"seq": 2, "temperature": 4.2}]');
    expect(out.drafts.map((d) => [d.seq, d.temperature])).toEqual([
      [1, 4.1],
      [2, 4.2],
    ]);
  });

  it('refuses an empty array', () => {
    expect(verdict(() => v1('[]')).detail).toBe('the array holds no readings');
  });

  it('refuses a whole array when one element has the wrong shape, naming it', () => {
    const q = verdict(() => v1('[{"temperature": 4.1}, {"temperature": "warm"}]'));
    expect(q.reason).toBe('INVALID_PAYLOAD');
    expect(q.detail).toBe('[1].temperature must be a number, got "warm"');
    expect(reasonOf(() => v1('[{"temperature": 4.1}, 7]'))).toBe('INVALID_PAYLOAD');
  });

  it('keeps an element with an impossible value as a reading (checked later)', () => {
    const out = v1('[{"temperature": 4.1}, {"temperature": "nan"}]');
    expect(out.drafts).toHaveLength(2);
    expect(out.drafts[1]!.temperature).toBeNaN();
  });

  it('refuses an array element whose device_id disagrees with the topic', () => {
    const q = verdict(() =>
      v1('[{"device_id": "fridge-7", "temperature": 4}, {"device_id": "fridge-8"}]'),
    );
    expect(q.reason).toBe('DEVICE_TOPIC_MISMATCH');
    expect(q.detail).toContain('[1].device_id "fridge-8"');
  });

  it(`refuses more than ${MAX_READINGS_PER_MESSAGE} readings in one message`, () => {
    const many = JSON.stringify(
      Array.from({ length: MAX_READINGS_PER_MESSAGE + 1 }, () => ({ temperature: 4 })),
    );
    expect(reasonOf(() => v1(many))).toBe('INVALID_PAYLOAD');
  });

  it('refuses negative or fractional boot and sequence numbers', () => {
    expect(reasonOf(() => v1('{"temperature": 4, "seq": -1}'))).toBe('INVALID_PAYLOAD');
    expect(reasonOf(() => v1('{"temperature": 4, "boot": 1.5}'))).toBe('INVALID_PAYLOAD');
  });

  it('refuses a sensor name with control characters, a lone surrogate or over 64 characters', () => {
    expect(reasonOf(() => v1('{"temperature": 4, "sensor": "p\\ud800"}'))).toBe(
      'INVALID_PAYLOAD',
    );
    expect(reasonOf(() => v1('{"temperature": 4, "sensor": "a\\u0000b"}'))).toBe(
      'INVALID_PAYLOAD',
    );
    expect(reasonOf(() => v1(`{"temperature": 4, "sensor": "${'p'.repeat(65)}"}`))).toBe(
      'INVALID_PAYLOAD',
    );
  });

  it('refuses bytes that are not UTF-8 as INVALID_JSON', () => {
    const bytes = Buffer.concat([
      Buffer.from('{"temperature": 4, "sensor": "'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    expect(verdict(() => v1(bytes)).detail).toBe('the payload is not UTF-8 text');
  });

  it('ignores a leading byte-order mark', () => {
    const bytes = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('{"temperature": 4}'),
    ]);
    expect(v1(bytes).drafts[0]!.temperature).toBe(4);
  });
});

describe('device times', () => {
  const timeOf = (raw: string): number | undefined =>
    v1(`{"temperature": 4, "time": ${raw}}`).drafts[0]!.deviceTimeMs;
  const at = Date.UTC(2026, 0, 5, 10, 0, 0);

  it('reads ISO 8601 in UTC, with an offset, and without one as UTC', () => {
    expect(timeOf('"2026-01-05T10:00:00Z"')).toBe(at);
    expect(timeOf('"2026-01-05T11:00:00+01:00"')).toBe(at);
    expect(timeOf('"2026-01-05T05:30:00-0430"')).toBe(at);
    expect(timeOf('"2026-01-05T10:00:00"')).toBe(at);
    expect(timeOf('"2026-01-05 10:00"')).toBe(at);
    expect(timeOf('"2026-01-05T10:00:00.250Z"')).toBe(at + 250);
    expect(timeOf('"2026-01-05T10:00:00.123456789Z"')).toBe(at + 123);
  });

  it('reads epoch seconds, and epoch milliseconds above 10^11', () => {
    expect(timeOf(String(at / 1000))).toBe(at);
    expect(timeOf(String(at))).toBe(at);
    expect(timeOf('1767607200.5')).toBe(at + 500);
  });

  it('reads the 1970 and 2000 epochs as what they say (trust is decided later)', () => {
    expect(timeOf('0')).toBe(0);
    expect(timeOf('"1970-01-01T00:00:42Z"')).toBe(42_000);
    // MicroPython counts from 2000: 2026-01-05T10:00Z is 820,922,400 s, read as 1996.
    expect(timeOf('820922400')).toBe(Date.UTC(1996, 0, 6, 10));
  });

  it('refuses times that are not ISO 8601 or do not exist', () => {
    for (const s of [
      '"Jan 5 2026 10:00"',
      '"2026-01-05"',
      '"2026-02-29T10:00:00Z"',
      '"2026-01-05T24:00:00Z"',
      '"2026-01-05T10:00:00+25:00"',
      '"yesterday"',
      'true',
      '{}',
    ])
      expect(reasonOf(() => timeOf(s))).toBe('INVALID_PAYLOAD');
  });

  it('knows leap years in ISO dates', () => {
    expect(parseIsoTime('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(parseIsoTime('2100-02-29T00:00:00Z')).toBeUndefined();
    expect(parseIsoTime('2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29));
  });

  it('keeps years below 100 as written', () => {
    expect(new Date(parseIsoTime('0042-01-01T00:00:00Z')!).getUTCFullYear()).toBe(42);
  });
});
