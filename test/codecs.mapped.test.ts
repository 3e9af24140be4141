import { describe, expect, it } from 'vitest';
import type { IngestConfig } from '../src/config/config.js';
import type { DeviceSettings } from '../src/ingest/codecs/deviceSettings.js';
import { codecsWith } from '../src/ingest/codecs/index.js';
import { Decoder, type DecodedMessage } from '../src/ingest/decoder.js';
import { parseMapping, type Mapping } from '../src/mappings/mapping.js';
import { MappingError } from '../src/mappings/mappingError.js';

const CONFIG: IngestConfig = {
  batchSize: 100,
  lingerMs: 0,
  maxPending: 1000,
  maxPayloadBytes: 4096,
  maxClockAheadSeconds: 300,
  timelessDedupSeconds: 15,
};
const NOW = new Date('2026-01-05T10:00:00Z');
const NONE: DeviceSettings = { sensorKinds: {} };

function decoder(mappings: Mapping[], settings: Record<string, DeviceSettings> = {}) {
  return new Decoder(codecsWith({ mappings: () => mappings }), CONFIG, {
    settingsOf: (id) => settings[id] ?? NONE,
  });
}

function send(d: Decoder, topic: string, payload: unknown): DecodedMessage {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return d.decode({
    topic,
    payload: Buffer.from(text),
    qos: 1,
    retain: false,
    receivedAt: NOW,
  });
}

const acme = parseMapping('acme', {
  topic: 'acme/{device}/up',
  temperature: '$.t',
  humidity: '$.rh',
  time: '$.ts',
  time_format: 'epoch_ms',
  battery_pct: '$.bat',
});

describe('a mapping of a JSON device', () => {
  it('stores what it finds at its paths', () => {
    const m = send(decoder([acme]), 'acme/lab-fridge/up', {
      t: 4.5,
      rh: 48,
      ts: NOW.getTime() - 30_000,
      bat: 91,
    });
    expect(m.quarantine).toBeNull();
    expect(m.readings[0]).toMatchObject({
      deviceId: 'lab-fridge',
      temperatureC: 4.5,
      humidityPct: 48,
      batteryPct: 91,
      time: new Date(NOW.getTime() - 30_000),
      timeSource: 'device',
      quality: 'good',
    });
  });

  it('quarantines a payload that does not fit it as MAPPING_MISMATCH, naming the path', () => {
    const d = decoder([acme]);
    const miss = send(d, 'acme/lab-fridge/up', { temp: 4.5 });
    expect(miss.quarantine?.reason).toBe('MAPPING_MISMATCH');
    expect(miss.quarantine?.detail).toBe('no value at $.t nor at $.rh');
    expect(miss.deviceId).toBe('lab-fridge');
    const type = send(d, 'acme/lab-fridge/up', { t: 'warm' });
    expect(type.quarantine?.detail).toBe(
      'temperature at $.t must be a number, got "warm"',
    );
    const time = send(d, 'acme/lab-fridge/up', { t: 4, ts: 'noon' });
    expect(time.quarantine?.detail).toContain('not in the format epoch_ms');
    expect(send(d, 'acme/lab-fridge/up', '{"t": nan}').quarantine?.reason).toBe(
      'INVALID_JSON',
    );
  });

  it('flags impossible values like any other codec', () => {
    const m = send(decoder([acme]), 'acme/lab-fridge/up', { t: -127, rh: 40 });
    expect(m.readings[0]).toMatchObject({
      temperatureC: null,
      quality: 'invalid',
      flags: ['sensor_disconnected'],
    });
  });

  it('reads an array of readings with @ paths, the device from the payload', () => {
    const gw = parseMapping('gateway', {
      topic: 'gw/{sensor}/batch',
      device_id: '$.mac',
      readings: '$.log',
      temperature: '@.c',
      time: '@.at',
      time_format: 'pattern',
      time_pattern: 'DD.MM.YYYY HH:mm',
      time_zone: 'Europe/Berlin',
      unit: 'F',
    });
    const m = send(decoder([gw]), 'gw/door/batch', {
      mac: 'A4:C1:38:0B:2E:11',
      log: [
        { c: 39.2, at: '05.01.2026 10:58' },
        { c: 41, at: '05.01.2026 10:59' },
      ],
    });
    expect(m.quarantine).toBeNull();
    expect(m.deviceId).toBe('A4:C1:38:0B:2E:11');
    expect(
      m.readings.map((r) => [r.sensor, r.temperatureC, r.time.toISOString()]),
    ).toEqual([
      ['door', 4, '2026-01-05T09:58:00.000Z'],
      ['door', 5, '2026-01-05T09:59:00.000Z'],
    ]);
  });

  it('reads times without an offset in the device’s zone before the mapping’s', () => {
    const m = parseMapping('zoned', {
      topic: 'z/{device}',
      temperature: '$.t',
      time: '$.at',
      time_format: 'iso',
      time_zone: 'Europe/Berlin',
    });
    const d = decoder([m], { tokyo: { timeZone: 'Asia/Tokyo', sensorKinds: {} } });
    const at = (device: string) =>
      send(d, `z/${device}`, { t: 4, at: '2026-01-05T18:59:00' }).readings[0]!.deviceTime;
    expect(at('tokyo')?.toISOString()).toBe('2026-01-05T09:59:00.000Z');
    expect(at('berlin')?.toISOString()).toBe('2026-01-05T17:59:00.000Z');
  });

  it('reads the MicroPython 2000 epoch, and distrusts its unset clock', () => {
    const mp = parseMapping('micropython', {
      topic: 'mp/{device}',
      temperature: '$.temp',
      time: '$.t',
      time_format: 'epoch_2000',
    });
    const d = decoder([mp]);
    const set = send(d, 'mp/esp-1', {
      temp: 4,
      t: NOW.getTime() / 1000 - 946_684_800 - 60,
    });
    expect(set.readings[0]).toMatchObject({ timeSource: 'device', flags: [] });
    const unset = send(d, 'mp/esp-2', { temp: 4, t: 42 });
    expect(unset.readings[0]).toMatchObject({
      timeSource: 'server',
      flags: ['device_clock_unset'],
    });
  });

  it('refuses a payload device id that disagrees with the topic', () => {
    const both = parseMapping('both', {
      topic: 'b/{device}',
      device_id: '$.id',
      temperature: '$.t',
    });
    const m = send(decoder([both]), 'b/dev-1', { id: 'dev-2', t: 4 });
    expect(m.quarantine?.reason).toBe('DEVICE_TOPIC_MISMATCH');
  });
});

describe('a mapping of a plain-value device', () => {
  it('stores the number as the measurement it names', () => {
    const plain = parseMapping('plain', {
      topic: 'shelly/{device}/{sensor}',
      format: 'plain',
      value: 'humidity',
    });
    const d = decoder([plain]);
    expect(send(d, 'shelly/ht-1/rh', '55.5').readings[0]).toMatchObject({
      deviceId: 'ht-1',
      sensor: 'rh',
      humidityPct: 55.5,
      temperatureC: null,
    });
    expect(send(d, 'shelly/ht-1/rh', 'high').quarantine?.reason).toBe('MAPPING_MISMATCH');
  });
});

describe('mapping definitions', () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['no topic', { temperature: '$.t' }, /topic is required/],
    ['no measurement', { topic: 'a/{device}' }, /path of temperature/],
    ['no device', { topic: 'a/b', temperature: '$.t' }, /device id/],
    ['a bad path', { topic: 'a/{device}', temperature: 't' }, /JSON path/],
    [
      'a bad unit',
      { topic: 'a/{device}', temperature: '$.t', unit: 'K' },
      /unit must be/,
    ],
    [
      'a bad zone',
      { topic: 'a/{device}', temperature: '$.t', time_zone: 'Mars/Base' },
      /unknown time zone/,
    ],
    ['an unknown field', { topic: 'a/{device}', temp: '$.t' }, /unknown field "temp"/],
    ['this server’s topic', { topic: 'heru/{device}/x', temperature: '$.t' }, /overlaps/],
    [
      'a pattern without the date',
      {
        topic: 'a/{device}',
        temperature: '$.t',
        time_format: 'pattern',
        time_pattern: 'HH:mm',
      },
      /lacks/,
    ],
  ];
  for (const [what, definition, message] of bad)
    it(`refuses ${what}, saying why`, () => {
      expect(() => parseMapping('m', definition)).toThrow(MappingError);
      expect(() => parseMapping('m', definition)).toThrow(message);
    });

  it('takes the topics of firmwares it maps over, before their codec', () => {
    const over = parseMapping('odd-tasmota', {
      topic: 'tele/{device}/SENSOR',
      temperature: '$.temp',
    });
    const m = send(decoder([over]), 'tele/odd/SENSOR', { temp: 3.5 });
    expect(m.readings[0]).toMatchObject({ deviceId: 'odd', temperatureC: 3.5 });
  });
});
