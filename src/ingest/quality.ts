/**
 * Checks of measured values. A value no sensor could have measured is never stored
 * as a number: the reading keeps no temperature (or humidity) and a flag says why.
 * The value as sent stays in the raw message.
 */

/** Physical range of the common probes (DS18B20 −55…+125 °C, SHT3x −40…+125 °C). */
export const TEMPERATURE_RANGE_C = { min: -55, max: 125 } as const;

/** DS18B20 answers 85.00 °C from its power-on register before the first conversion. */
const POWER_ON_C = 85;
/** A jump larger than this (°C) to exactly 85.0 is the power-on value, not heat. */
const POWER_ON_JUMP_C = 20;

/** What the checker knows of a device's previous reading. */
export interface PreviousReading {
  boot: number | null;
  temperatureC: number | null;
}

export interface TemperatureCheck {
  temperatureC: number | null;
  flag?: string;
}

/** Converts to °C, then checks; `firstOfBoot` is true for the first reading after a boot. */
export function checkTemperature(
  value: number | null | undefined,
  unit: 'C' | 'F',
  firstOfBoot: boolean,
  previous: PreviousReading | undefined,
): TemperatureCheck {
  if (value === undefined) return { temperatureC: null };
  if (value === null) return { temperatureC: null, flag: 'temperature_missing' };
  if (Number.isNaN(value)) return { temperatureC: null, flag: 'temperature_nan' };
  if (!Number.isFinite(value))
    return { temperatureC: null, flag: 'temperature_infinite' };
  const c = unit === 'F' ? ((value - 32) * 5) / 9 : value;
  // −127 °C is the DS18B20 library's "device disconnected"; low resolutions round it.
  if (c >= -127.5 && c <= -127)
    return { temperatureC: null, flag: 'sensor_disconnected' };
  if (Math.abs(c - POWER_ON_C) < 0.01 && isPowerOn(firstOfBoot, previous)) {
    return { temperatureC: null, flag: 'power_on_value' };
  }
  if (c < TEMPERATURE_RANGE_C.min || c > TEMPERATURE_RANGE_C.max) {
    return { temperatureC: null, flag: 'temperature_out_of_range' };
  }
  return { temperatureC: round(c, 4) };
}

function isPowerOn(firstOfBoot: boolean, previous: PreviousReading | undefined): boolean {
  if (firstOfBoot || previous?.temperatureC == null) return true;
  return Math.abs(POWER_ON_C - previous.temperatureC) > POWER_ON_JUMP_C;
}

export interface HumidityCheck {
  humidityPct: number | null;
  flag?: string;
}

/** Relative humidity in %RH: 0 to 100 inclusive. */
export function checkHumidity(value: number | null | undefined): HumidityCheck {
  if (value === undefined) return { humidityPct: null };
  if (value === null) return { humidityPct: null, flag: 'humidity_missing' };
  if (Number.isNaN(value)) return { humidityPct: null, flag: 'humidity_nan' };
  if (!Number.isFinite(value)) return { humidityPct: null, flag: 'humidity_infinite' };
  if (value < 0 || value > 100)
    return { humidityPct: null, flag: 'humidity_out_of_range' };
  return { humidityPct: value };
}

/** Plausible ranges of the device's own health values, inclusive. */
export const DEVICE_RANGES = {
  /** Battery charge, percent. */
  battery_pct: { min: 0, max: 100 },
  /** Battery voltage, volts (a cell to a 12 V lead-acid battery on charge). */
  battery_v: { min: 0, max: 60 },
  /** Received signal strength, dBm (0 dBm would be a milliwatt received). */
  rssi: { min: -150, max: 0 },
} as const;

export interface DeviceValueCheck {
  value: number | null;
  flag?: string;
}

/**
 * A battery or signal value: kept when finite and in its range, otherwise null with
 * the flag `{name}_out_of_range`. These never make a reading invalid.
 */
export function checkDeviceValue(
  name: keyof typeof DEVICE_RANGES,
  value: number | undefined,
): DeviceValueCheck {
  if (value === undefined) return { value: null };
  const range = DEVICE_RANGES[name];
  if (Number.isFinite(value) && value >= range.min && value <= range.max)
    return { value };
  return { value: null, flag: `${name}_out_of_range` };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
