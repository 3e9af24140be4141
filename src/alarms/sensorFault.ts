/**
 * The sensor fault: a probe that keeps giving values no sensor could have measured
 * (−127 °C from a disconnected DS18B20, its 85 °C power-on value, NaN). Ingest
 * stores those readings without a temperature, with quality `invalid` and a flag;
 * they never reach the temperature rules. Here they are counted over the last
 * `ofLast` readings: `invalid` of them raise one sensor-fault alarm, and `ofLast`
 * valid readings in a row clear it. Pure.
 */
import type { ProfileRules } from './profile.js';

export interface FaultState {
  /** The last readings, newest in the lowest bit: 1 invalid, 0 valid. */
  bits: number;
  /** First invalid reading since the window was last clean, ms. */
  since: number | null;
  alarmed: boolean;
  /** Quality flags seen in this episode. */
  flags: string[];
}

export type FaultChange =
  | { type: 'raise'; since: number; at: number; flags: string[]; invalid: number }
  | { type: 'clear'; since: number; at: number; flags: string[] };

export const EMPTY_FAULT: FaultState = {
  bits: 0,
  since: null,
  alarmed: false,
  flags: [],
};

export function stepFault(
  rule: NonNullable<ProfileRules['sensorFault']>,
  state: FaultState,
  time: number,
  invalid: boolean,
  flags: readonly string[],
): { state: FaultState; change?: FaultChange } {
  const mask = 2 ** rule.ofLast - 1;
  const bits = ((state.bits * 2) % (mask + 1)) + (invalid ? 1 : 0);
  const s: FaultState = { ...state, bits };
  if (invalid) {
    s.since ??= time;
    s.flags = [...new Set([...s.flags, ...flags])].slice(0, 10);
  }
  const count = popcount(bits);
  if (!s.alarmed && count >= rule.invalid) {
    s.alarmed = true;
    const since = s.since ?? time;
    return {
      state: s,
      change: { type: 'raise', since, at: time, flags: s.flags, invalid: count },
    };
  }
  if (bits !== 0) return { state: s };
  const change: FaultChange | undefined =
    s.alarmed && s.since !== null
      ? { type: 'clear', since: s.since, at: time, flags: s.flags }
      : undefined;
  Object.assign(s, { since: null, alarmed: false, flags: [] });
  return change ? { state: s, change } : { state: s };
}

function popcount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}
