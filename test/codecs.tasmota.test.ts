import { describe, expect, it } from 'vitest';
import type { IngestConfig } from '../src/config/config.js';
import { CODECS } from '../src/ingest/codecs/index.js';
import { tasmota } from '../src/ingest/codecs/tasmota.js';
import type { DeviceSettings } from '../src/ingest/codecs/deviceSettings.js';
import { Decoder, type DecodedMessage } from '../src/ingest/decoder.js';

const CONFIG: IngestConfig = {
  batchSize: 100,
  lingerMs: 0,
  maxPending: 1000,
  maxPayloadBytes: 4096,
  maxClockAheadSeconds: 300,
  timelessDedupSeconds: 15,
};
const NOW = new Date('2026-01-05T10:00:00Z');

function decoder(settings: Record<string, DeviceSettings> = {}): Decoder {
  return new Decoder(CODECS, CONFIG, {
    settingsOf: (id) => settings[id] ?? { sensorKinds: {} },
  });
}

function send(d: Decoder, topic: string, payload: unknown): DecodedMessage {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return d.decode({
    topic,
    payload: Buffer.from(text),
    qos: 0,
    retain: false,
    receivedAt: NOW,
  });
}

const sensor = (d: Decoder, payload: unknown) => send(d, 'tele/fridge_3/SENSOR', payload);

describe('Tasmota topics', () => {
  it('takes the device id from tele/{topic}/SENSOR, LWT and STATE only', () => {
    expect(tasmota.deviceIdOf('tele/tasmota_8A3F2C/SENSOR')).toBe('tasmota_8A3F2C');
    expect(tasmota.deviceIdOf('tele/tasmota_8A3F2C/LWT')).toBe('tasmota_8A3F2C');
    expect(tasmota.deviceIdOf('tele/tasmota_8A3F2C/STATE')).toBe('tasmota_8A3F2C');
    expect(tasmota.deviceIdOf('tele/tasmota_8A3F2C/RESULT')).toBeUndefined();
    expect(tasmota.deviceIdOf('stat/tasmota_8A3F2C/SENSOR')).toBeUndefined();
    expect(tasmota.deviceIdOf('tele/a/b/SENSOR')).toBeUndefined();
  });
});

describe('Tasmota SENSOR messages', () => {
  it('reads a DS18B20 block, named by its ROM id, at the device time in UTC', () => {
    const m = sensor(decoder(), {
      Time: '2026-01-05T09:59:30',
      DS18B20: { Id: '01144A0CB2AA', Temperature: 4.6 },
      TempUnit: 'C',
    });
    expect(m.quarantine).toBeNull();
    expect(m.readings).toHaveLength(1);
    expect(m.readings[0]).toMatchObject({
      deviceId: 'fridge_3',
      sensor: 'DS18B20-01144A0CB2AA',
      temperatureC: 4.6,
      humidityPct: null,
      time: new Date('2026-01-05T09:59:30Z'),
      timeSource: 'device',
      quality: 'good',
      flags: [],
    });
  });

  it('gives each of several probes its own sensor of one device', () => {
    const m = sensor(decoder(), {
      Time: '2026-01-05T09:59:30',
      'DS18B20-1': { Id: '01144A0CB2AA', Temperature: 4.6 },
      'DS18B20-2': { Id: '0316A2797E8F', Temperature: -18.3 },
      TempUnit: 'C',
    });
    expect(m.readings.map((r) => [r.sensor, r.temperatureC])).toEqual([
      ['DS18B20-01144A0CB2AA', 4.6],
      ['DS18B20-0316A2797E8F', -18.3],
    ]);
    expect(new Set(m.readings.map((r) => r.naturalKey)).size).toBe(2);
  });

  it('reads AM2301, SHT3X and BME280 blocks with their humidity', () => {
    const m = sensor(decoder(), {
      Time: '2026-01-05T09:59:30',
      AM2301: { Temperature: 5.1, Humidity: 61.3, DewPoint: -1.8 },
      'SHT3X-0x44': { Temperature: 4.9, Humidity: 58.2, DewPoint: -2.6 },
      BME280: { Temperature: 21.4, Humidity: 40.1, DewPoint: 7.3, Pressure: 1013.2 },
      ESP32: { Temperature: 48.3 },
      ENERGY: { Power: 3 },
      PressureUnit: 'hPa',
      TempUnit: 'C',
    });
    expect(m.readings.map((r) => [r.sensor, r.temperatureC, r.humidityPct])).toEqual([
      ['AM2301', 5.1, 61.3],
      ['SHT3X-0x44', 4.9, 58.2],
      ['BME280', 21.4, 40.1],
    ]);
  });

  it('converts TempUnit F to °C and checks 185 °F as the power-on 85 °C', () => {
    const d = decoder();
    const m = sensor(d, {
      'DS18B20-1': { Id: 'AA01', Temperature: 39.2 },
      'DS18B20-2': { Id: 'AA02', Temperature: 185 },
      TempUnit: 'F',
    });
    expect(m.readings.map((r) => [r.temperatureC, r.flags])).toEqual([
      [4, []],
      [null, ['power_on_value']],
    ]);
  });

  it('reads Time in the device’s time zone, or by its offset when it has one', () => {
    const d = decoder({ fridge_3: { timeZone: 'Europe/Berlin', sensorKinds: {} } });
    const local = sensor(d, { Time: '2026-01-05T10:59:30', AM2301: { Temperature: 5 } });
    expect(local.readings[0]!.time.toISOString()).toBe('2026-01-05T09:59:30.000Z');
    const offset = sensor(d, {
      Time: '2026-01-05T12:59:30+03:00',
      AM2301: { Temperature: 5 },
    });
    expect(offset.readings[0]!.time.toISOString()).toBe('2026-01-05T09:59:30.000Z');
  });

  it('takes the server time for a clock not yet set by NTP', () => {
    const m = sensor(decoder(), {
      Time: '1970-01-01T00:03:12',
      AM2301: { Temperature: 5 },
    });
    expect(m.readings[0]).toMatchObject({
      time: NOW,
      timeSource: 'server',
      flags: ['device_clock_unset'],
    });
  });

  it('flags a failed probe whose values are null', () => {
    const m = sensor(decoder(), {
      AM2301: { Temperature: null, Humidity: null, DewPoint: null },
      TempUnit: 'C',
    });
    expect(m.readings[0]).toMatchObject({
      temperatureC: null,
      humidityPct: null,
      quality: 'invalid',
      flags: ['temperature_missing', 'humidity_missing'],
    });
  });

  it('flags a probe missing from a message after it was seen, beside the others', () => {
    const d = decoder();
    const both = {
      'DS18B20-1': { Id: 'AA01', Temperature: 4.5 },
      'DS18B20-2': { Id: 'AA02', Temperature: -18 },
    };
    sensor(d, { ...both, TempUnit: 'C' });
    const m = sensor(d, {
      'DS18B20-1': { Id: 'AA02', Temperature: -18.1 },
      TempUnit: 'C',
    });
    expect(m.readings.map((r) => [r.sensor, r.temperatureC, r.quality, r.flags])).toEqual(
      [
        ['DS18B20-AA02', -18.1, 'good', []],
        ['DS18B20-AA01', null, 'invalid', ['sensor_missing']],
      ],
    );
  });

  it('keeps a message without any probe block as status: a plug is no failed fridge', () => {
    const m = send(decoder(), 'tele/plug_1/SENSOR', {
      Time: '2026-01-05T09:59:30',
      ENERGY: { Total: 1.2, Power: 3 },
    });
    expect(m).toMatchObject({ quarantine: null, readings: [], status: {} });
  });

  it('quarantines what is not Tasmota JSON', () => {
    const d = decoder();
    expect(sensor(d, '{"Time": ').quarantine?.reason).toBe('INVALID_JSON');
    expect(sensor(d, '[1, 2]').quarantine?.reason).toBe('INVALID_PAYLOAD');
    expect(sensor(d, { AM2301: { Temperature: 'warm' } }).quarantine?.detail).toBe(
      'AM2301.Temperature must be a number, got "warm"',
    );
    expect(
      sensor(d, { Time: 'yesterday', AM2301: { Temperature: 5 } }).quarantine?.reason,
    ).toBe('INVALID_PAYLOAD');
    expect(
      sensor(d, { TempUnit: 'K', AM2301: { Temperature: 5 } }).quarantine?.reason,
    ).toBe('INVALID_PAYLOAD');
  });
});

describe('Tasmota status messages', () => {
  it('reads LWT Online and Offline as status, never as a reading', () => {
    const d = decoder();
    expect(send(d, 'tele/fridge_3/LWT', 'Online')).toMatchObject({
      readings: [],
      quarantine: null,
      status: { online: true },
    });
    expect(send(d, 'tele/fridge_3/LWT', 'Offline').status).toEqual({ online: false });
  });

  it('reads the Wi-Fi signal in dBm from STATE, not the RSSI percentage', () => {
    const m = send(decoder(), 'tele/fridge_3/STATE', {
      Time: '2026-01-05T09:59:30',
      Uptime: '0T00:15:12',
      UptimeSec: 912,
      Heap: 25,
      Wifi: { AP: 1, SSId: 'clinic', Channel: 6, RSSI: 74, Signal: -63, LinkCount: 1 },
    });
    expect(m).toMatchObject({ readings: [], quarantine: null, status: { rssiDbm: -63 } });
  });

  it('treats 85 °C right after the device comes online as the power-on value', () => {
    const d = decoder();
    sensor(d, { 'DS18B20-1': { Id: 'AA01', Temperature: 84.8 } });
    expect(
      sensor(d, { 'DS18B20-1': { Id: 'AA01', Temperature: 85 } }).readings[0]!.flags,
    ).toEqual([]);
    send(d, 'tele/fridge_3/LWT', 'Online');
    expect(
      sensor(d, { 'DS18B20-1': { Id: 'AA01', Temperature: 85 } }).readings[0]!.flags,
    ).toEqual(['power_on_value']);
  });
});
