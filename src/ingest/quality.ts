/**
 * Checks of measured values. A value no sensor could have measured is never stored
 * as a number: the reading keeps no temperature (or humidity) and a flag says why.
 * The value as sent stays in the raw message.
 *
 * Cheap probes lie in known ways, each checked here: a DS18B20 answers −127 °C when
 * disconnected, 85 °C before its first conversion and 127.94 °C when underpowered;
 * a DHT22 read that fails gives NaN, or garbage beside a humidity of exactly 0; an
 * SHT3x that answers all zeros gives −45 °C and 0 %RH (all ones, 130 °C and 100 %).
 */

/** A range of temperatures in °C, inclusive. */
export interface RangeC {
  readonly min: number;
  readonly max: number;
}

/** Physical range of a probe of unknown model: the widest of the common ones (DS18B20). */
export const TEMPERATURE_RANGE_C: RangeC = { min: -55, max: 125 };

/**
 * Ranges of the models firmwares name (Tasmota's block names), by the start of the
 * name. Datasheet operating ranges; a value outside is no measurement.
 */
const MODEL_RANGES: ReadonlyArray<[prefix: string, range: RangeC]> = [
  ['DS18', { min: -55, max: 125 }],
  ['DS1822', { min: -55, max: 125 }],
  ['AM2301', { min: -40, max: 80 }],
  ['AM2302', { min: -40, max: 80 }],
  ['DHT22', { min: -40, max: 80 }],
  ['DHT11', { min: 0, max: 50 }],
  ['SHT3', { min: -40, max: 125 }],
  ['SHT4', { min: -40, max: 125 }],
  ['HTU21', { min: -40, max: 125 }],
  ['SI70', { min: -40, max: 125 }],
  ['BME', { min: -40, max: 85 }],
  ['BMP', { min: -40, max: 85 }],
];

/** The range of `model` (any case, suffixes such as `-1` or `-0x44` ignored). */
export function rangeOf(model: string | undefined): RangeC {
  if (model === undefined) return TEMPERATURE_RANGE_C;
  const m = model.toUpperCase();
  return (
    MODEL_RANGES.find(([prefix]) => m.startsWith(prefix))?.[1] ?? TEMPERATURE_RANGE_C
  );
}

/** True for a DS18B20-family probe, or a probe of unknown model (most often one). */
function mayBeDs18(model: string | undefined): boolean {
  return (
    model === undefined ||
    /^DS1[89]/i.test(model) ||
    rangeOf(model) === TEMPERATURE_RANGE_C
  );
}

/** DS18B20 answers 85.00 °C from its power-on register before the first conversion. */
const POWER_ON_C = 85;
/** A jump larger than this (°C) to exactly 85.0 is the power-on value, not heat. */
const POWER_ON_JUMP_C = 20;
/** An underpowered DS18B20 reads 0x07FF, 127.94 °C (127.5 at 9 bits). */
const UNDERPOWERED_C = { min: 127.5, max: 128 } as const;

/** What the checker knows of a device's previous reading. */
export interface PreviousReading {
  boot: number | null;
  temperatureC: number | null;
}

export interface TemperatureCheck {
  temperatureC: number | null;
  flag?: string;
}

/**
 * Converts to °C, then checks; `firstOfBoot` is true for the first reading after a
 * boot, `model` names the probe when the payload does.
 */
export function checkTemperature(
  value: number | null | undefined,
  unit: 'C' | 'F',
  firstOfBoot: boolean,
  previous: PreviousReading | undefined,
  model?: string,
): TemperatureCheck {
  if (value === undefined) return { temperatureC: null };
  if (value === null) return { temperatureC: null, flag: 'temperature_missing' };
  if (Number.isNaN(value)) return { temperatureC: null, flag: 'temperature_nan' };
  if (!Number.isFinite(value))
    return { temperatureC: null, flag: 'temperature_infinite' };
  const c = toCelsius(value, unit);
  if (mayBeDs18(model)) {
    // −127 °C is the DS18B20 library's "device disconnected"; low resolutions round it.
    if (c >= -127.5 && c <= -127)
      return { temperatureC: null, flag: 'sensor_disconnected' };
    if (c >= UNDERPOWERED_C.min && c <= UNDERPOWERED_C.max)
      return { temperatureC: null, flag: 'sensor_underpowered' };
    if (Math.abs(c - POWER_ON_C) < 0.01 && isPowerOn(firstOfBoot, previous))
      return { temperatureC: null, flag: 'power_on_value' };
  }
  const range = rangeOf(model);
  if (c < range.min || c > range.max)
    return { temperatureC: null, flag: 'temperature_out_of_range' };
  return { temperatureC: round(c, 4) };
}

function isPowerOn(firstOfBoot: boolean, previous: PreviousReading | undefined): boolean {
  if (firstOfBoot || previous?.temperatureC == null) return true;
  return Math.abs(POWER_ON_C - previous.temperatureC) > POWER_ON_JUMP_C;
}

function toCelsius(value: number, unit: 'C' | 'F'): number {
  return unit === 'F' ? ((value - 32) * 5) / 9 : value;
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

/** What the sensors that measure both answer when the read itself failed (°C, %RH). */
const READ_ERROR_PAIRS: ReadonlyArray<[temperatureC: number, humidity: number]> = [
  [-45, 0], // SHT3x, all zeros
  [-45, -6], // SHT4x, all zeros
  [130, 100], // SHT3x, all ones
  [-46.85, -6], // HTU21D and Si7021, all zeros
];

function near(a: number, b: number): boolean {
  return Math.abs(a - b) < 0.005;
}

/**
 * True when a temperature and a humidity sent together are the answer of a failed
 * read rather than two measurements: one of the pairs above, or a humidity of
 * exactly 0 beside a temperature that is no measurement (a DHT22's garbage such as
 * 2146959360, or NaN). Both are then dropped.
 */
export function isReadError(
  temperature: number | null | undefined,
  unit: 'C' | 'F',
  humidity: number | null | undefined,
): boolean {
  if (typeof temperature !== 'number' || typeof humidity !== 'number') return false;
  const c = toCelsius(temperature, unit);
  if (humidity === 0 && !(c >= TEMPERATURE_RANGE_C.min && c <= TEMPERATURE_RANGE_C.max))
    return true;
  return READ_ERROR_PAIRS.some(([t, h]) => near(c, t) && near(humidity, h));
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
