/**
 * Low battery, for devices that report their battery (percent or volts). Raised at
 * or below the profile's level, cleared once every reported value is at or above its
 * clear level (default: above the raise level). Readings without a battery value
 * change nothing. Pure.
 */
import type { ProfileRules } from './profile.js';

export interface BatteryState {
  alarmed: boolean;
  since: number | null;
}

export type BatteryChange =
  | {
      type: 'raise';
      since: number;
      at: number;
      percent: number | null;
      volts: number | null;
    }
  | { type: 'clear'; since: number; at: number };

export const EMPTY_BATTERY: BatteryState = { alarmed: false, since: null };

export function stepBattery(
  rule: NonNullable<ProfileRules['lowBattery']>,
  state: BatteryState,
  time: number,
  percent: number | null,
  volts: number | null,
): { state: BatteryState; change?: BatteryChange } {
  if (percent === null && volts === null) return { state };
  const low =
    (rule.percent !== null && percent !== null && percent <= rule.percent) ||
    (rule.volts !== null && volts !== null && volts <= rule.volts);
  if (low && !state.alarmed) {
    return {
      state: { alarmed: true, since: time },
      change: { type: 'raise', since: time, at: time, percent, volts },
    };
  }
  if (low || !state.alarmed || !recovered(rule, percent, volts)) return { state };
  return {
    state: { alarmed: false, since: null },
    change: { type: 'clear', since: state.since ?? time, at: time },
  };
}

function recovered(
  rule: NonNullable<ProfileRules['lowBattery']>,
  percent: number | null,
  volts: number | null,
): boolean {
  const pctOk =
    percent === null || rule.clearPercent === null || percent >= rule.clearPercent;
  const voltsOk = volts === null || rule.clearVolts === null || volts >= rule.clearVolts;
  return pctOk && voltsOk;
}
