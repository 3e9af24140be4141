/**
 * The single-event excursion: out of range without interruption for a rule's
 * minutes. One state machine per device, sensor and rule, fed valid temperatures in
 * order of reading time:
 *
 *   in range ──beyond raise_at──► out (timer from the first reading out)
 *   out ──timer reaches minutes──► alarmed (one alarm for the whole episode)
 *   out or alarmed ──past clear_at, on the in-range side──► in range (alarm cleared)
 *
 * Between raise_at and clear_at the state does not change (hysteresis). Time without
 * readings longer than the profile's gap is unknown: it restarts a timer that has
 * not yet raised its alarm, but never clears an alarm; only a reading back in range
 * does. Pure: the state goes in and comes out.
 */
import type { Direction, ExcursionRule } from './profile.js';

export interface ExcursionState {
  /** Reading time (ms since 1970) of the first reading of the current run out; null when in range. */
  outSince: number | null;
  /** True once the alarm of the current run is raised. */
  alarmed: boolean;
  /** Most extreme temperature of the run, °C. */
  peak: number | null;
  /** Time of the last valid reading seen, ms. */
  lastAt: number | null;
}

export type ExcursionChange =
  | { type: 'raise'; since: number; at: number; value: number }
  | { type: 'clear'; since: number; at: number; peak: number | null };

export const EMPTY_EXCURSION: ExcursionState = {
  outSince: null,
  alarmed: false,
  peak: null,
  lastAt: null,
};

interface Threshold {
  direction: Direction;
  raiseAt: number;
  inclusive: boolean;
}

/** True when `v` °C is beyond the rule's raise level (at it, when inclusive). */
export function isBeyond(rule: Threshold, v: number): boolean {
  if (rule.direction === 'high')
    return rule.inclusive ? v >= rule.raiseAt : v > rule.raiseAt;
  return rule.inclusive ? v <= rule.raiseAt : v < rule.raiseAt;
}

/** True when `v` °C is back on the in-range side of the rule's clear level. */
export function isBackIn(rule: ExcursionRule, v: number): boolean {
  if (rule.direction === 'high')
    return rule.inclusive ? v < rule.clearAt : v <= rule.clearAt;
  return rule.inclusive ? v > rule.clearAt : v >= rule.clearAt;
}

/** Advances the state by one valid reading at `time` (ms) of `value` °C. */
export function stepExcursion(
  rule: ExcursionRule,
  state: ExcursionState,
  time: number,
  value: number,
  gapMs: number,
): { state: ExcursionState; change?: ExcursionChange } {
  const s: ExcursionState = { ...state, lastAt: time };
  const gap = state.lastAt !== null && time - state.lastAt > gapMs;
  if (gap && !s.alarmed) {
    s.outSince = null;
    s.peak = null;
  }
  const out = s.outSince !== null ? !isBackIn(rule, value) : isBeyond(rule, value);
  if (!out) {
    if (s.outSince === null) return { state: s };
    const change: ExcursionChange | undefined = s.alarmed
      ? { type: 'clear', since: s.outSince, at: time, peak: s.peak }
      : undefined;
    Object.assign(s, { outSince: null, alarmed: false, peak: null });
    return change ? { state: s, change } : { state: s };
  }
  s.outSince ??= time;
  s.peak = extreme(rule.direction, s.peak, value);
  if (!s.alarmed && time - s.outSince >= rule.minutes * 60_000) {
    s.alarmed = true;
    return { state: s, change: { type: 'raise', since: s.outSince, at: time, value } };
  }
  return { state: s };
}

function extreme(direction: Direction, a: number | null, b: number): number {
  if (a === null) return b;
  return direction === 'high' ? Math.max(a, b) : Math.min(a, b);
}
