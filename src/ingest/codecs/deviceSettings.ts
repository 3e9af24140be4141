/**
 * What an operator may tell ingest about one device, for firmwares whose payloads
 * leave it unsaid: the time zone of times written without an offset (Tasmota's
 * `Time`), the unit of bare numbers (ESPHome), and what each named sensor measures.
 * Stored in `device_setting`; see docs/firmwares.md.
 */

/** What a named value of a device is: a measurement, its signal, or neither. */
export type SensorKind = 'temperature' | 'humidity' | 'rssi' | 'ignore';

export const SENSOR_KINDS: readonly SensorKind[] = [
  'temperature',
  'humidity',
  'rssi',
  'ignore',
];

export interface DeviceSettings {
  /**
   * IANA zone (`Europe/Berlin`) or fixed offset (`+02:00`) of device times written
   * without an offset; undefined: the mapping's zone, else UTC.
   */
  timeZone?: string;
  /** Unit of bare temperature numbers (ESPHome), default `C`. */
  unit?: 'C' | 'F';
  /** What each named sensor measures, overriding the guess from its name. */
  sensorKinds: Readonly<Record<string, SensorKind>>;
}

export const DEFAULT_DEVICE_SETTINGS: DeviceSettings = Object.freeze({
  sensorKinds: Object.freeze({}),
});

/** Name parts of a chip's own temperature (ESPHome `internal_temperature`), not a probe's. */
const CHIP_WORDS = new Set(['internal', 'chip', 'cpu', 'core', 'esp', 'esp32', 'soc']);

/**
 * What a sensor named `name` measures: the device's setting for that name, else a
 * guess from the words of the name (split on `_`, `-`, `.` and spaces, any case):
 * a word starting with `humid`, or `rh`, is humidity; one starting with `temp` is a
 * temperature unless another word names the chip (`internal_temperature`);
 * `wifi_signal` or a word `rssi` is the signal; anything else is ignored.
 */
export function kindOfSensor(name: string, settings: DeviceSettings): SensorKind {
  const set = settings.sensorKinds[name];
  if (set !== undefined) return set;
  const words = name.toLowerCase().split(/[\s_.-]+/);
  if (words.some((w) => w.startsWith('humid') || w === 'rh')) return 'humidity';
  if (words.some((w) => w.startsWith('temp')))
    return words.some((w) => CHIP_WORDS.has(w)) ? 'ignore' : 'temperature';
  if (words.includes('rssi') || (words.includes('wifi') && words.includes('signal')))
    return 'rssi';
  return 'ignore';
}
