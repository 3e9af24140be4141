import { describe, expect, it } from 'vitest';
import {
  checkDeviceValue,
  checkHumidity,
  checkTemperature,
  TEMPERATURE_RANGE_C,
  type PreviousReading,
} from '../src/ingest/quality.js';

const steady: PreviousReading = { boot: 3, temperatureC: 4.5 };

/** A check of a value from a device that has been running (not its first reading). */
function later(value: number | null | undefined, previous = steady) {
  return checkTemperature(value, 'C', false, previous);
}

describe('temperature checks', () => {
  it('keeps a plausible value, rounded to 4 decimals', () => {
    expect(later(4.62)).toEqual({ temperatureC: 4.62 });
    expect(later(4.123456)).toEqual({ temperatureC: 4.1235 });
  });

  it('gives no temperature and no flag when the device sent none', () => {
    expect(later(undefined)).toEqual({ temperatureC: null });
  });

  it('flags null as temperature_missing', () => {
    expect(later(null)).toEqual({ temperatureC: null, flag: 'temperature_missing' });
  });

  it('flags NaN as temperature_nan and ±Infinity as temperature_infinite', () => {
    expect(later(NaN)).toEqual({ temperatureC: null, flag: 'temperature_nan' });
    expect(later(Infinity)).toEqual({ temperatureC: null, flag: 'temperature_infinite' });
    expect(later(-Infinity)).toEqual({
      temperatureC: null,
      flag: 'temperature_infinite',
    });
  });

  it('flags the DS18B20 disconnected value −127.0 and its rounded −127.44', () => {
    for (const v of [-127, -127.0, -127.44, -127.5])
      expect(later(v)).toEqual({ temperatureC: null, flag: 'sensor_disconnected' });
  });

  it('flags −196.6 °F (the library’s disconnected value in °F) as disconnected', () => {
    expect(checkTemperature(-196.6, 'F', false, steady)).toEqual({
      temperatureC: null,
      flag: 'sensor_disconnected',
    });
  });

  it('flags 85.0 as power_on_value when it is the first reading of a boot', () => {
    expect(checkTemperature(85, 'C', true, steady)).toEqual({
      temperatureC: null,
      flag: 'power_on_value',
    });
    expect(checkTemperature(85, 'C', true, { boot: 2, temperatureC: 84.9 })).toEqual({
      temperatureC: null,
      flag: 'power_on_value',
    });
  });

  it('flags 85.0 when nothing is known of the device before it', () => {
    expect(checkTemperature(85, 'C', false, undefined).flag).toBe('power_on_value');
    expect(later(85, { boot: 1, temperatureC: null }).flag).toBe('power_on_value');
  });

  it('flags 85.0 that jumps from a fridge temperature (a probe reset mid-boot)', () => {
    expect(later(85).flag).toBe('power_on_value');
    expect(checkTemperature(185, 'F', false, steady).flag).toBe('power_on_value');
  });

  it('keeps 85.0 within a steady series near 85 °C', () => {
    expect(later(85, { boot: 3, temperatureC: 84.6 })).toEqual({ temperatureC: 85 });
    expect(later(85, { boot: 3, temperatureC: 85 })).toEqual({ temperatureC: 85 });
  });

  it('keeps values next to 85.0 even after a jump', () => {
    expect(later(85.0625)).toEqual({ temperatureC: 85.0625 });
  });

  it(`flags values outside ${TEMPERATURE_RANGE_C.min}…${TEMPERATURE_RANGE_C.max} °C`, () => {
    for (const v of [-55.01, 125.01, -80, 1000, -273.15])
      expect(later(v)).toEqual({ temperatureC: null, flag: 'temperature_out_of_range' });
    expect(later(-55)).toEqual({ temperatureC: -55 });
    expect(later(125)).toEqual({ temperatureC: 125 });
  });

  it('converts °F to °C before checking', () => {
    expect(checkTemperature(39.2, 'F', false, steady)).toEqual({ temperatureC: 4 });
    expect(checkTemperature(74.21, 'F', false, steady)).toEqual({ temperatureC: 23.45 });
    expect(checkTemperature(300, 'F', false, steady).flag).toBe(
      'temperature_out_of_range',
    );
  });
});

describe('humidity checks', () => {
  it('keeps 0 to 100 %RH inclusive', () => {
    for (const v of [0, 45.6, 100]) expect(checkHumidity(v)).toEqual({ humidityPct: v });
  });

  it('flags values outside 0–100 as humidity_out_of_range', () => {
    for (const v of [-0.1, 100.1, 250])
      expect(checkHumidity(v)).toEqual({
        humidityPct: null,
        flag: 'humidity_out_of_range',
      });
  });

  it('flags null, NaN and ±Infinity each by name', () => {
    expect(checkHumidity(null).flag).toBe('humidity_missing');
    expect(checkHumidity(NaN).flag).toBe('humidity_nan');
    expect(checkHumidity(Infinity).flag).toBe('humidity_infinite');
    expect(checkHumidity(-Infinity).flag).toBe('humidity_infinite');
    expect(checkHumidity(undefined)).toEqual({ humidityPct: null });
  });
});

describe('battery and signal checks', () => {
  it('keeps values in range', () => {
    expect(checkDeviceValue('battery_pct', 87)).toEqual({ value: 87 });
    expect(checkDeviceValue('battery_v', 3.71)).toEqual({ value: 3.71 });
    expect(checkDeviceValue('rssi', -67)).toEqual({ value: -67 });
    expect(checkDeviceValue('rssi', undefined)).toEqual({ value: null });
  });

  it('drops impossible values with a flag instead of storing them', () => {
    expect(checkDeviceValue('battery_pct', 150)).toEqual({
      value: null,
      flag: 'battery_pct_out_of_range',
    });
    expect(checkDeviceValue('battery_v', -1).flag).toBe('battery_v_out_of_range');
    expect(checkDeviceValue('rssi', 1e20).flag).toBe('rssi_out_of_range');
    expect(checkDeviceValue('rssi', 31).flag).toBe('rssi_out_of_range');
    expect(checkDeviceValue('battery_pct', Infinity).flag).toBe(
      'battery_pct_out_of_range',
    );
  });
});
