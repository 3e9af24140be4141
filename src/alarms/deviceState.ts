/**
 * What the engine remembers of one device between readings, kept as JSON in
 * `alarm_device_state` so that a restart loses no timer. One entry per sensor (a
 * device may have several probes), each with the state of every rule of its profile
 * by rule id; the battery belongs to the device.
 */
import type { BatteryState } from './battery.js';
import { EMPTY_BATTERY } from './battery.js';
import type { CumulativeState } from './cumulative.js';
import type { ExcursionState } from './excursion.js';
import type { FaultState } from './sensorFault.js';
import { EMPTY_FAULT } from './sensorFault.js';

export interface SensorState {
  /** Time (ms) of the newest live reading; older readings are late. */
  lastTime: number | null;
  excursions: Record<string, ExcursionState>;
  cumulative: Record<string, CumulativeState>;
  fault: FaultState;
}

export interface DeviceState {
  sensors: Record<string, SensorState>;
  battery: BatteryState;
  /** The profile and rule ids the state was made with (see ruleChange.ts). */
  rulesKey?: string;
}

export function emptyDeviceState(): DeviceState {
  return { sensors: {}, battery: { ...EMPTY_BATTERY } };
}

export function emptySensorState(): SensorState {
  return { lastTime: null, excursions: {}, cumulative: {}, fault: { ...EMPTY_FAULT } };
}

/**
 * The state as read back from the database. Only what this code wrote is ever
 * there; a row from an older shape (or none) starts empty rather than failing.
 */
export function deviceStateFromJson(json: unknown): DeviceState {
  if (typeof json !== 'object' || json === null) return emptyDeviceState();
  const o = json as Partial<DeviceState>;
  return {
    sensors: typeof o.sensors === 'object' && o.sensors !== null ? o.sensors : {},
    battery: o.battery ?? { ...EMPTY_BATTERY },
    ...(typeof o.rulesKey === 'string' ? { rulesKey: o.rulesKey } : {}),
  };
}
