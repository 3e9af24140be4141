import { describe, expect, it } from 'vitest';
import type { IngestConfig } from '../src/config/config.js';
import { CODECS } from '../src/ingest/codecs/index.js';
import { Decoder, type DecodedMessage } from '../src/ingest/decoder.js';
import { checkTemperature, isReadError, rangeOf } from '../src/ingest/quality.js';

const CONFIG: IngestConfig = {
  batchSize: 100,
  lingerMs: 0,
  maxPending: 1000,
  maxPayloadBytes: 4096,
  maxClockAheadSeconds: 300,
  timelessDedupSeconds: 15,
};
const NOW = new Date('2026-01-05T10:00:00Z');

function send(d: Decoder, topic: string, payload: unknown): DecodedMessage {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const m = d.decode({
    topic,
    payload: Buffer.from(text),
    qos: 1,
    retain: false,
    receivedAt: NOW,
  });
  expect(m.quarantine).toBeNull();
  return m;
}

const v1 = (d: Decoder, payload: unknown) =>
  send(d, 'heru/v1/devices/fridge-7/readings', payload).readings;

describe('each way a cheap sensor lies becomes a flagged reading without the value', () => {
  const cases: Array<[string, unknown, Record<string, unknown>]> = [
    [
      'DS18B20 disconnected, −127',
      { temperature: -127, humidity: 50 },
      { flags: ['sensor_disconnected'], humidityPct: 50 },
    ],
    [
      'DS18B20 disconnected at low resolution, −127.44',
      { temperature: -127.44 },
      { flags: ['sensor_disconnected'] },
    ],
    [
      'DS18B20 underpowered, 127.94',
      { temperature: 127.94 },
      { flags: ['sensor_underpowered'] },
    ],
    [
      'DS18B20 underpowered at 9 bits, 127.5',
      { temperature: 127.5 },
      { flags: ['sensor_underpowered'] },
    ],
    [
      'DS18B20 power-on 85 as a boot’s first value',
      { boot: 4, seq: 0, temperature: 85 },
      { flags: ['power_on_value'] },
    ],
    [
      '185 °F, the power-on value in °F',
      { boot: 4, seq: 0, temperature: 185, unit: 'F' },
      { flags: ['power_on_value'] },
    ],
    [
      '−196.6 °F, disconnected in °F',
      { temperature: -196.6, unit: 'F' },
      { flags: ['sensor_disconnected'] },
    ],
    [
      'DHT22 NaN',
      { temperature: 'nan', humidity: 'nan' },
      { flags: ['temperature_nan', 'humidity_nan'], humidityPct: null },
    ],
    [
      'DHT22 garbage beside a humidity of 0',
      { temperature: 2146959360, humidity: 0 },
      { flags: ['sensor_read_error'], humidityPct: null },
    ],
    [
      'SHT30 read failure, −45.00 °C and 0.00 %',
      { temperature: -45.0, humidity: 0.0 },
      { flags: ['sensor_read_error'], humidityPct: null },
    ],
    [
      'SHT30 all ones, 130 °C and 100 %',
      { temperature: 130, humidity: 100 },
      { flags: ['sensor_read_error'], humidityPct: null },
    ],
    [
      'a value outside any probe’s range',
      { temperature: 150 },
      { flags: ['temperature_out_of_range'] },
    ],
  ];
  for (const [what, payload, expected] of cases) {
    it(`stores ${what} with no temperature, quality invalid`, () => {
      const [r] = v1(new Decoder(CODECS, CONFIG), payload);
      expect(r).toMatchObject({ temperatureC: null, quality: 'invalid', ...expected });
    });
  }

  it('stores 85 after a jump of more than 20 °C as the power-on value', () => {
    const d = new Decoder(CODECS, CONFIG);
    v1(d, { boot: 1, seq: 5, temperature: 4.5 });
    expect(v1(d, { boot: 1, seq: 6, temperature: 85 })[0]!.flags).toEqual([
      'power_on_value',
    ]);
  });

  it('keeps 85 later in a steady series: a real value', () => {
    const d = new Decoder(CODECS, CONFIG);
    v1(d, { boot: 1, seq: 5, temperature: 83.9 });
    expect(v1(d, { boot: 1, seq: 6, temperature: 85 })[0]).toMatchObject({
      temperatureC: 85,
      quality: 'good',
    });
  });

  it('drops a humidity outside 0–100 and keeps the good temperature beside it', () => {
    for (const humidity of [-3, 120]) {
      expect(
        v1(new Decoder(CODECS, CONFIG), { temperature: 4.5, humidity })[0],
      ).toMatchObject({
        temperatureC: 4.5,
        humidityPct: null,
        quality: 'good',
        flags: ['humidity_out_of_range'],
      });
    }
  });

  it('keeps −45 °C beside a real humidity, and 0 % beside a real temperature', () => {
    const d = new Decoder(CODECS, CONFIG);
    expect(v1(d, { temperature: -45, humidity: 12 })[0]).toMatchObject({
      temperatureC: -45,
      humidityPct: 12,
      quality: 'good',
    });
    expect(v1(d, { temperature: 21, humidity: 0 })[0]).toMatchObject({
      temperatureC: 21,
      humidityPct: 0,
      quality: 'good',
    });
  });

  it('uses the range of the probe a Tasmota block names', () => {
    const d = new Decoder(CODECS, CONFIG);
    const [am, ds] = send(d, 'tele/t1/SENSOR', {
      AM2301: { Temperature: 95, Humidity: 20 },
      DS18B20: { Id: 'AB', Temperature: 95 },
    }).readings;
    expect(am).toMatchObject({ temperatureC: null, flags: ['temperature_out_of_range'] });
    expect(ds).toMatchObject({ temperatureC: 95, quality: 'good' });
  });
});

describe('device times that cannot be trusted take the server time', () => {
  const cases: Array<[string, unknown, string]> = [
    ['0 (no NTP yet)', 0, 'device_clock_unset'],
    ['seconds since boot', 3_600, 'device_clock_unset'],
    ['the 2036 NTP rollover', '2036-02-07T06:28:16Z', 'device_clock_ahead'],
    ['a time far in the future', '2091-01-01T00:00:00Z', 'device_clock_ahead'],
  ];
  for (const [what, time, flag] of cases) {
    it(`for ${what}, saying so in time_source and ${flag}`, () => {
      const [r] = v1(new Decoder(CODECS, CONFIG), { temperature: 4.4, time });
      expect(r).toMatchObject({
        time: NOW,
        timeSource: 'server',
        temperatureC: 4.4,
        quality: 'good',
        flags: [flag],
      });
    });
  }
});

describe('the checks themselves', () => {
  it('knows the ranges of the probes firmwares name', () => {
    expect(rangeOf('DS18B20-1')).toEqual({ min: -55, max: 125 });
    expect(rangeOf('AM2301')).toEqual({ min: -40, max: 80 });
    expect(rangeOf('DHT11')).toEqual({ min: 0, max: 50 });
    expect(rangeOf('SHT3X-0x44')).toEqual({ min: -40, max: 125 });
    expect(rangeOf('BME280')).toEqual({ min: -40, max: 85 });
    expect(rangeOf(undefined)).toEqual({ min: -55, max: 125 });
  });

  it('tells a failed read from two measurements', () => {
    expect(isReadError(-45, 'C', 0)).toBe(true);
    expect(isReadError(-46.85, 'C', -6)).toBe(true);
    expect(isReadError(NaN, 'C', 0)).toBe(true);
    expect(isReadError(2146959360, 'C', 0)).toBe(true);
    expect(isReadError(-45, 'C', 30)).toBe(false);
    expect(isReadError(4, 'C', 0)).toBe(false);
    expect(isReadError(-45, 'C', undefined)).toBe(false);
  });

  it('does not take 85 °C from a humidity sensor for the DS18B20 power-on value', () => {
    expect(checkTemperature(85, 'C', true, undefined, 'SHT3X')).toEqual({
      temperatureC: 85,
    });
    expect(checkTemperature(-127, 'C', false, undefined, 'SHT3X').flag).toBe(
      'temperature_out_of_range',
    );
  });
});
