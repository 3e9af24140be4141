import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { IngestConfig } from '../src/config/config.js';
import { CODECS, type Codec } from '../src/ingest/codecs/index.js';
import { Decoder, type DecodedMessage } from '../src/ingest/decoder.js';
import { naturalKey, payloadHash } from '../src/ingest/naturalKey.js';
import {
  MAX_DETAIL_LENGTH,
  Quarantine,
  QUARANTINE_REASONS,
} from '../src/ingest/reasons.js';

const CONFIG: IngestConfig = {
  batchSize: 100,
  lingerMs: 0,
  maxPending: 1000,
  maxPayloadBytes: 4096,
  maxClockAheadSeconds: 300,
  timelessDedupSeconds: 15,
};
const NOW = new Date('2026-01-05T10:00:00Z');

function decoder(): Decoder {
  return new Decoder(CODECS, CONFIG);
}

function message(topic: string, payload: string | Buffer, receivedAt = NOW) {
  return {
    topic,
    payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
    qos: 1 as const,
    retain: false,
    receivedAt,
  };
}

/** Decodes one heru/v1 payload of device `fridge-7`. */
function v1(d: Decoder, payload: unknown, receivedAt = NOW): DecodedMessage {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return d.decode(message('heru/v1/devices/fridge-7/readings', text, receivedAt));
}

function only(m: DecodedMessage) {
  expect(m.quarantine).toBeNull();
  expect(m.readings).toHaveLength(1);
  return m.readings[0]!;
}

describe('the decoder on good input', () => {
  it('turns the Heru firmware payload into one good reading at receive time', () => {
    const m = decoder().decode(
      message(
        'heru/sensors/esp32_sensor_01',
        '{"device_id": "esp32_sensor_01","temperature": 23.45,"humidity": 45.60}',
      ),
    );
    expect(m.deviceId).toBe('esp32_sensor_01');
    expect(only(m)).toMatchObject({
      deviceId: 'esp32_sensor_01',
      sensor: '',
      temperatureC: 23.45,
      humidityPct: 45.6,
      time: NOW,
      timeSource: 'server',
      deviceTime: null,
      quality: 'good',
      flags: [],
    });
  });

  it('converts °F readings to °C', () => {
    const r = only(v1(decoder(), { temperature: 39.2, unit: 'F' }));
    expect(r.temperatureC).toBe(4);
    expect(r.quality).toBe('good');
  });
});

describe('the decoder on impossible values', () => {
  const cases: Array<[string, unknown, string]> = [
    ['"nan"', 'nan', 'temperature_nan'],
    ['"NaN"', 'NaN', 'temperature_nan'],
    ['null', null, 'temperature_missing'],
    ['"Infinity"', 'Infinity', 'temperature_infinite'],
    ['"-Infinity"', '-Infinity', 'temperature_infinite'],
    ['1e999', '1e999', 'temperature_infinite'],
    ['−127.0', -127.0, 'sensor_disconnected'],
    ['−127.44', -127.44, 'sensor_disconnected'],
    ['200', 200, 'temperature_out_of_range'],
    ['−60', -60, 'temperature_out_of_range'],
  ];
  for (const [label, value, flag] of cases) {
    it(`stores ${label} as a reading with no temperature, quality invalid, ${flag}`, () => {
      const payload =
        value === '1e999'
          ? '{"seq": 5, "boot": 1, "temperature": 1e999, "humidity": 50}'
          : { seq: 5, boot: 1, temperature: value, humidity: 50 };
      const r = only(v1(decoder(), payload));
      expect(r).toMatchObject({
        temperatureC: null,
        humidityPct: 50,
        quality: 'invalid',
        flags: [flag],
      });
    });
  }

  it('keeps a good temperature when the humidity is impossible, with a flag', () => {
    const r = only(v1(decoder(), { temperature: 4.5, humidity: 101 }));
    expect(r).toMatchObject({
      temperatureC: 4.5,
      humidityPct: null,
      quality: 'good',
      flags: ['humidity_out_of_range'],
    });
  });

  it('marks a humidity-only reading with an impossible humidity invalid', () => {
    const r = only(v1(decoder(), { humidity: -3 }));
    expect(r).toMatchObject({
      temperatureC: null,
      humidityPct: null,
      quality: 'invalid',
      flags: ['humidity_out_of_range'],
    });
  });

  it('drops an impossible battery or signal value with a flag, not the reading', () => {
    const r = only(v1(decoder(), { temperature: 4, battery_pct: 300, rssi: 1e20 }));
    expect(r).toMatchObject({
      temperatureC: 4,
      batteryPct: null,
      rssiDbm: null,
      quality: 'good',
      flags: ['battery_pct_out_of_range', 'rssi_out_of_range'],
    });
  });

  it('stores each element of an array, flagging only the bad one', () => {
    const m = v1(decoder(), [
      { seq: 1, boot: 1, temperature: 4.1 },
      { seq: 2, boot: 1, temperature: 'nan' },
      { seq: 3, boot: 1, temperature: 4.3 },
    ]);
    expect(m.readings.map((r) => [r.temperatureC, r.quality, r.flags])).toEqual([
      [4.1, 'good', []],
      [null, 'invalid', ['temperature_nan']],
      [4.3, 'good', []],
    ]);
  });
});

describe('the 85 °C power-on value', () => {
  it('is flagged when it is the first reading of a boot (seq 0)', () => {
    const d = decoder();
    only(v1(d, { boot: 1, seq: 7, temperature: 84.5 }));
    const r = only(v1(d, { boot: 2, seq: 0, temperature: 85 }));
    expect(r).toMatchObject({ temperatureC: null, flags: ['power_on_value'] });
  });

  it('is flagged when the boot counter changes', () => {
    const d = decoder();
    only(v1(d, { boot: 1, seq: 7, temperature: 84.8 }));
    const r = only(v1(d, { boot: 2, seq: 1, temperature: 85 }));
    expect(r.flags).toEqual(['power_on_value']);
  });

  it('is flagged as the first value the server sees of a device', () => {
    const r = only(v1(decoder(), { temperature: 85 }));
    expect(r).toMatchObject({ quality: 'invalid', flags: ['power_on_value'] });
  });

  it('is flagged when it jumps from a fridge temperature', () => {
    const d = decoder();
    only(v1(d, { temperature: 4.5 }));
    expect(only(v1(d, { temperature: 85 })).flags).toEqual(['power_on_value']);
  });

  it('is kept within a steady series of one boot near 85 °C', () => {
    const m = v1(decoder(), [
      { boot: 4, seq: 10, temperature: 84.75 },
      { boot: 4, seq: 11, temperature: 85 },
      { boot: 4, seq: 12, temperature: 85.125 },
    ]);
    expect(m.readings.map((r) => r.temperatureC)).toEqual([84.75, 85, 85.125]);
    expect(m.readings.every((r) => r.quality === 'good')).toBe(true);
  });

  it('is remembered per probe of a device', () => {
    const d = decoder();
    only(v1(d, { sensor: 'hot', temperature: 84.9 }));
    only(v1(d, { sensor: 'cold', temperature: 4 }));
    expect(only(v1(d, { sensor: 'hot', temperature: 85 })).flags).toEqual([]);
    expect(only(v1(d, { sensor: 'cold', temperature: 85 })).flags).toEqual([
      'power_on_value',
    ]);
  });
});

describe('the decoder on messages it cannot read', () => {
  it('quarantines a bare nan token as INVALID_JSON for the topic’s device', () => {
    const m = decoder().decode(
      message('heru/sensors/esp32_sensor_01', '{"temperature": nan, "humidity": 40}'),
    );
    expect(m).toMatchObject({ deviceId: 'esp32_sensor_01', readings: [] });
    expect(m.quarantine?.reason).toBe('INVALID_JSON');
  });

  it('quarantines a payload device id that disagrees with the topic', () => {
    const m = v1(decoder(), { device_id: 'fridge-8', temperature: 4 });
    expect(m.deviceId).toBe('fridge-7');
    expect(m.quarantine?.reason).toBe('DEVICE_TOPIC_MISMATCH');
  });

  it('quarantines device ids with bad characters and counts them for no device', () => {
    for (const topic of [
      'heru/sensors/',
      'heru/sensors/fridge 7',
      'heru/sensors/-fridge',
      'heru/v1/devices/frige#7/readings',
      `heru/sensors/${'x'.repeat(65)}`,
    ]) {
      const m = decoder().decode(message(topic, '{"temperature": 4}'));
      expect(m.quarantine?.reason).toBe('INVALID_DEVICE_ID');
      expect(m.deviceId).toBeNull();
      expect(m.quarantine!.detail.length).toBeLessThan(80);
    }
  });

  it('quarantines a payload over MAX_PAYLOAD_BYTES without reading it', () => {
    const big = `{"temperature": 4, "pad": "${'x'.repeat(CONFIG.maxPayloadBytes)}"}`;
    const m = v1(decoder(), big);
    expect(m.quarantine?.reason).toBe('PAYLOAD_TOO_LARGE');
    expect(m.quarantine?.detail).toContain(`limit is ${CONFIG.maxPayloadBytes}`);
    expect(m.deviceId).toBe('fridge-7');
  });

  it('quarantines a topic no codec handles', () => {
    const m = decoder().decode(message('elsewhere/fridge-7', '{"temperature": 4}'));
    expect(m).toMatchObject({ deviceId: null, readings: [] });
    expect(m.quarantine?.reason).toBe('UNKNOWN_TOPIC');
  });

  it('never throws: a codec that fails gives DECODE_FAILED', () => {
    const broken: Codec = {
      name: 'broken',
      topics: ['broken/+'],
      deviceIdOf: (topic) => topic.split('/')[1],
      decode: () => {
        throw new RangeError('Maximum call stack size exceeded');
      },
    };
    const m = new Decoder([broken], CONFIG).decode(message('broken/dev-1', '{}'));
    expect(m.deviceId).toBe('dev-1');
    expect(m.quarantine?.reason).toBe('DECODE_FAILED');
    expect(m.quarantine?.detail).toContain('RangeError');
  });

  it('survives a deeply nested payload within the size limit', () => {
    const big = { ...CONFIG, maxPayloadBytes: 262_144 };
    const deep = `{"temperature": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const m = new Decoder(CODECS, big).decode(message('heru/sensors/a', deep));
    expect(m.quarantine?.reason).toBe('INVALID_PAYLOAD');
  });
});

describe('reading times', () => {
  const cases: Array<[string, unknown, 'device' | 'server', string | undefined]> = [
    ['ISO with Z', '2026-01-05T09:59:00Z', 'device', undefined],
    ['ISO with an offset', '2026-01-05T10:59:00+01:00', 'device', undefined],
    ['ISO without an offset (UTC)', '2026-01-05T09:59:00', 'device', undefined],
    ['epoch seconds', Date.UTC(2026, 0, 5, 9, 59) / 1000, 'device', undefined],
    ['epoch milliseconds', Date.UTC(2026, 0, 5, 9, 59), 'device', undefined],
    ['1970 (no NTP yet)', 12, 'server', 'device_clock_unset'],
    ['the 2000 epoch', 820_922_340, 'server', 'device_clock_unset'],
    ['2036', '2036-02-07T06:28:16Z', 'server', 'device_clock_ahead'],
    ['far future', 1e15, 'server', 'device_clock_ahead'],
  ];
  for (const [label, time, source, flag] of cases) {
    it(`takes the ${source} time for ${label}`, () => {
      const r = only(v1(decoder(), { temperature: 4, time }));
      expect(r.timeSource).toBe(source);
      expect(r.flags).toEqual(flag ? [flag] : []);
      expect(r.quality).toBe('good');
      if (source === 'device')
        expect(r.time.toISOString()).toBe('2026-01-05T09:59:00.000Z');
      else expect(r.time).toBe(NOW);
    });
  }

  it('keeps the untrusted device time beside the server time', () => {
    const r = only(v1(decoder(), { temperature: 4, time: 12 }));
    expect(r.deviceTime?.toISOString()).toBe('1970-01-01T00:00:12.000Z');
  });
});

describe('natural keys', () => {
  const hash = payloadHash(Buffer.from('x'));
  const base = {
    boot: null,
    seq: null,
    trustedTimeMs: null,
    payloadHash: hash,
    index: 0,
    receivedAtMs: 45_000,
    windowMs: 15_000,
    sensor: '',
  };

  it('uses boot and sequence when the device sends both', () => {
    expect(naturalKey({ ...base, boot: 3, seq: 17, trustedTimeMs: 5 })).toBe('s:3:17');
  });

  it('uses the trusted time when the sequence comes without a boot counter', () => {
    expect(naturalKey({ ...base, seq: 17, trustedTimeMs: 5 })).toBe('t:5');
    expect(naturalKey({ ...base, boot: 3, trustedTimeMs: 5 })).toBe('t:5');
  });

  it('falls back to the payload hash within a receive-time window', () => {
    expect(naturalKey({ ...base, seq: 17 })).toBe(`h:${hash}:3:0`);
    expect(naturalKey({ ...base, receivedAtMs: 59_999, index: 2 })).toBe(`h:${hash}:3:2`);
    expect(naturalKey({ ...base, receivedAtMs: 60_000 })).toBe(`h:${hash}:4:0`);
  });

  it('adds the probe name for a device with several', () => {
    expect(naturalKey({ ...base, boot: 1, seq: 2, sensor: 'p1' })).toBe('s:1:2:p1');
  });

  it('gives a redelivered copy the same key and a reboot new keys', () => {
    const d = decoder();
    const first = only(v1(d, { seq: 4, temperature: 4 }));
    const copy = only(v1(d, { seq: 4, temperature: 4 }, new Date(NOW.getTime() + 1000)));
    expect(copy.naturalKey).toBe(first.naturalKey);
    const timed = (ms: number) =>
      only(v1(d, { seq: 0, temperature: 4, time: new Date(ms).toISOString() }));
    expect(timed(NOW.getTime() - 60_000).naturalKey).not.toBe(
      timed(NOW.getTime() - 30_000).naturalKey,
    );
  });

  it('does not trust an untrusted time for identity', () => {
    const r = only(v1(decoder(), { temperature: 4, time: 12 }));
    expect(r.naturalKey.startsWith('h:')).toBe(true);
  });

  it('keeps a retained copy without a time of its own as status, not a reading of now', () => {
    const d = decoder();
    const topic = 'heru/sensors/fridge-7';
    const payload = '{"device_id": "fridge-7","temperature": 4.5,"humidity": 50}';
    expect(only(d.decode(message(topic, payload)))).toMatchObject({ temperatureC: 4.5 });
    // The same bytes, sent again a minute later to a new subscription: no new reading.
    const later = new Date(NOW.getTime() + 60_000);
    const copy = d.decode({ ...message(topic, payload, later), retain: true });
    expect(copy).toMatchObject({ deviceId: 'fridge-7', readings: [], quarantine: null });
    expect(copy.status).toEqual({});
  });

  it('keeps the readings of a retained copy that carry a trusted device time', () => {
    const payload = JSON.stringify([
      { boot: 1, seq: 7, time: '2026-01-05T09:00:00Z', temperature: 4 },
      { boot: 1, seq: 8, temperature: 4.1 },
    ]);
    const copy = decoder().decode({
      ...message('heru/v1/devices/fridge-7/readings', payload),
      retain: true,
    });
    expect(copy.readings.map((r) => [r.seq, r.timeSource])).toEqual([[7, 'device']]);
    expect(copy.status).toBeUndefined();
  });
});

describe('the quarantine catalog', () => {
  it('documents every reason code in docs/quarantine.md, and no other', async () => {
    const doc = await readFile(new URL('../docs/quarantine.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `([A-Z_]+)`/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(QUARANTINE_REASONS).sort());
  });

  it('writes control characters and lone surrogates in a detail as \\u escapes', () => {
    const q = new Quarantine('INVALID_JSON', 'a\u0000b\nc\ud800d 😀');
    expect(q.detail).toBe('a\\u0000b\\u000ac\\ud800d 😀');
  });

  it(`cuts a detail to ${MAX_DETAIL_LENGTH} characters without splitting a character`, () => {
    const q = new Quarantine('UNKNOWN_TOPIC', `x${'😀'.repeat(1000)}`);
    expect(Array.from(q.detail)).toHaveLength(MAX_DETAIL_LENGTH);
    expect(q.detail.endsWith('😀…')).toBe(true);
  });

  it('quarantines a NUL byte in the payload as INVALID_JSON with a storable detail', () => {
    const m = v1(decoder(), '{"temperature": \u0000}');
    expect(m.quarantine?.reason).toBe('INVALID_JSON');
    expect(m.quarantine?.detail).not.toContain('\u0000');
    expect(m.quarantine?.detail).toContain('\\u0000');
  });
});
