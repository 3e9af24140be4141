import { describe, expect, it } from 'vitest';
import type { IngestConfig } from '../src/config/config.js';
import {
  kindOfSensor,
  type DeviceSettings,
} from '../src/ingest/codecs/deviceSettings.js';
import { esphome } from '../src/ingest/codecs/esphome.js';
import { CODECS } from '../src/ingest/codecs/index.js';
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
const NONE: DeviceSettings = { sensorKinds: {} };

function decoder(settings: Record<string, DeviceSettings> = {}): Decoder {
  return new Decoder(CODECS, CONFIG, { settingsOf: (id) => settings[id] ?? NONE });
}

function send(d: Decoder, topic: string, text: string, retain = false): DecodedMessage {
  return d.decode({ topic, payload: Buffer.from(text), qos: 0, retain, receivedAt: NOW });
}

describe('ESPHome topics', () => {
  it('takes the device id from the prefix of sensor state and status topics', () => {
    expect(esphome.deviceIdOf('vaccine-fridge/sensor/fridge_temperature/state')).toBe(
      'vaccine-fridge',
    );
    expect(esphome.deviceIdOf('vaccine-fridge/status')).toBe('vaccine-fridge');
    expect(esphome.deviceIdOf('vaccine-fridge/switch/relay/state')).toBeUndefined();
    expect(esphome.deviceIdOf('vaccine-fridge/sensor/t/command')).toBeUndefined();
    expect(esphome.deviceIdOf('home/fridge/sensor/t/state')).toBeUndefined();
  });
});

describe('what an ESPHome sensor measures, by its name', () => {
  const cases: Array<[string, string]> = [
    ['fridge_temperature', 'temperature'],
    ['Temp_Probe_1', 'temperature'],
    ['dallas_temp', 'temperature'],
    ['fridge_humidity', 'humidity'],
    ['room_rh', 'humidity'],
    ['wifi_signal', 'rssi'],
    ['internal_temperature', 'ignore'],
    ['esp_temperature', 'ignore'],
    ['uptime', 'ignore'],
    ['battery_voltage', 'ignore'],
  ];
  for (const [name, kind] of cases)
    it(`takes ${name} for ${kind}`, () => expect(kindOfSensor(name, NONE)).toBe(kind));

  it('lets the device’s settings decide over the name', () => {
    const s: DeviceSettings = {
      sensorKinds: { probe_a: 'temperature', temp_b: 'ignore' },
    };
    expect(kindOfSensor('probe_a', s)).toBe('temperature');
    expect(kindOfSensor('temp_b', s)).toBe('ignore');
  });
});

describe('ESPHome messages', () => {
  it('stores each plain number as its own reading, at the receive time', () => {
    const d = decoder();
    const t = send(d, 'vaccine-fridge/sensor/fridge_temperature/state', '4.62');
    const h = send(d, 'vaccine-fridge/sensor/fridge_humidity/state', '51.3');
    expect(t.readings).toEqual([
      expect.objectContaining({
        deviceId: 'vaccine-fridge',
        sensor: 'fridge_temperature',
        temperatureC: 4.62,
        humidityPct: null,
        time: NOW,
        timeSource: 'server',
        quality: 'good',
      }),
    ]);
    expect(h.readings).toEqual([
      expect.objectContaining({
        sensor: 'fridge_humidity',
        temperatureC: null,
        humidityPct: 51.3,
        quality: 'good',
      }),
    ]);
  });

  it('stores nan as a reading with no temperature, flagged', () => {
    const m = send(decoder(), 'vaccine-fridge/sensor/fridge_temperature/state', 'nan');
    expect(m.readings[0]).toMatchObject({
      temperatureC: null,
      quality: 'invalid',
      flags: ['temperature_nan'],
    });
  });

  it('converts °F when the device’s unit says so', () => {
    const d = decoder({ 'us-fridge': { unit: 'F', sensorKinds: {} } });
    const m = send(d, 'us-fridge/sensor/fridge_temperature/state', '39.2');
    expect(m.readings[0]!.temperatureC).toBe(4);
  });

  it('reads a sensor the settings name, whatever its name says', () => {
    const d = decoder({ lab: { sensorKinds: { probe_a: 'temperature' } } });
    expect(send(d, 'lab/sensor/probe_a/state', '-20.5').readings[0]!.temperatureC).toBe(
      -20.5,
    );
  });

  it('keeps status, the Wi-Fi signal and other sensors as status, not readings', () => {
    const d = decoder();
    expect(send(d, 'vaccine-fridge/status', 'online')).toMatchObject({
      readings: [],
      quarantine: null,
      status: { online: true },
    });
    expect(send(d, 'vaccine-fridge/status', 'offline').status).toEqual({ online: false });
    expect(send(d, 'vaccine-fridge/sensor/wifi_signal/state', '-71').status).toEqual({
      rssiDbm: -71,
    });
    const uptime = send(d, 'vaccine-fridge/sensor/uptime/state', '1234');
    expect(uptime).toMatchObject({ readings: [], quarantine: null, status: {} });
  });

  it('keeps a retained state, of unknown age, as status rather than a reading of now', () => {
    const m = send(
      decoder(),
      'vaccine-fridge/sensor/fridge_temperature/state',
      '4.62',
      true,
    );
    expect(m).toMatchObject({ readings: [], quarantine: null, status: {} });
  });

  it('quarantines a temperature that is not a plain number', () => {
    const m = send(decoder(), 'vaccine-fridge/sensor/fridge_temperature/state', '4,6 °C');
    expect(m.quarantine?.reason).toBe('INVALID_PAYLOAD');
    expect(m.quarantine?.detail).toContain('fridge_temperature');
  });
});
