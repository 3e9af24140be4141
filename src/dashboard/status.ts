/**
 * A device's status on the dashboard, one word for the worst thing true of it now,
 * and the order of the fleet: worst first. The order says what a nurse should look
 * at first: medicine already at risk (an excursion alarm), then a fridge warm or cold
 * right now, then a device nobody can read (silent, or its probe failing), then a
 * battery to change; devices in range come last.
 */
import type { AlarmKind } from '../alarms/events.js';

export const DEVICE_STATUSES = [
  'excursion',
  'out_of_range',
  'offline',
  'sensor_fault',
  'battery_low',
  'no_data',
  'in_range',
] as const;

export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

/** What the status is decided from. */
export interface StatusInput {
  /** Kinds of the device's live alarms not yet cleared. */
  activeKinds: readonly AlarmKind[];
  /** The last reading, or null when the device never sent one. */
  last: { temperatureC: number | null; quality: 'good' | 'invalid' } | null;
  lastSeenAt: Date | null;
  range: { low: number; high: number; inclusive: boolean };
  /** Minutes of silence after which the device is offline; null when not watched. */
  offlineMinutes: number | null;
  now: Date;
}

const EXCURSION_KINDS: ReadonlySet<AlarmKind> = new Set([
  'excursion_high',
  'excursion_low',
  'excursion_immediate',
  'cumulative_excursion',
]);

/** Every status that holds for the device, worst first; never empty. */
export function statusesOf(s: StatusInput): DeviceStatus[] {
  const out = new Set<DeviceStatus>();
  if (s.activeKinds.some((k) => EXCURSION_KINDS.has(k))) out.add('excursion');
  const t = s.last?.quality === 'good' ? s.last.temperatureC : null;
  if (t !== null && outOfRange(t, s.range)) out.add('out_of_range');
  const silentMs = s.lastSeenAt ? s.now.getTime() - s.lastSeenAt.getTime() : null;
  const late =
    s.offlineMinutes !== null &&
    silentMs !== null &&
    silentMs > s.offlineMinutes * 60_000;
  if (s.activeKinds.includes('device_offline') || late) out.add('offline');
  if (s.activeKinds.includes('sensor_fault') || s.last?.quality === 'invalid')
    out.add('sensor_fault');
  if (s.activeKinds.includes('low_battery')) out.add('battery_low');
  if (s.last === null) out.add('no_data');
  if (out.size === 0) out.add('in_range');
  return DEVICE_STATUSES.filter((x) => out.has(x));
}

/** True when `t` (°C) is outside the range, at the limit included when inclusive. */
export function outOfRange(
  t: number,
  r: { low: number; high: number; inclusive: boolean },
): boolean {
  return r.inclusive ? t <= r.low || t >= r.high : t < r.low || t > r.high;
}

/** Sort order of a status: 0 is the worst. */
export function statusRank(s: DeviceStatus): number {
  return DEVICE_STATUSES.indexOf(s);
}
