/** Where a reading's `time` comes from: the device's clock, or the server's receive time. */
export type TimeSource = 'device' | 'server';

/** `invalid` when the sensor gave no usable temperature; `flags` say why. */
export type Quality = 'good' | 'invalid';

/**
 * What a codec takes out of a payload, before any check: values as the device sent
 * them, in the unit it declared.
 */
export interface ReadingDraft {
  /** Probe name within the device ('' for a device with one sensor). */
  sensor?: string;
  /** Device time in milliseconds since 1970, or undefined when the device sent none. */
  deviceTimeMs?: number;
  boot?: number;
  seq?: number;
  /** Temperature in `unit`; null when the device reported a failed read. */
  temperature?: number | null;
  unit?: 'C' | 'F';
  humidity?: number | null;
  batteryPct?: number;
  batteryV?: number;
  rssi?: number;
  /** The probe's model when the payload names it (`DS18B20`, `AM2301`, `SHT3X`): sets its range. */
  model?: string;
  /** A failure the codec saw itself (`sensor_missing`): the reading is invalid with this flag. */
  fault?: string;
}

/** A checked reading, ready to store. */
export interface Reading {
  deviceId: string;
  sensor: string;
  time: Date;
  timeSource: TimeSource;
  deviceTime: Date | null;
  receivedAt: Date;
  boot: number | null;
  seq: number | null;
  temperatureC: number | null;
  humidityPct: number | null;
  batteryPct: number | null;
  batteryV: number | null;
  rssiDbm: number | null;
  quality: Quality;
  flags: string[];
  /** Identity of the reading within its device; see naturalKey.ts. */
  naturalKey: string;
}
