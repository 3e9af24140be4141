/**
 * The cumulative excursion: minutes out of range in total within a window (a
 * calendar day, or since the device got its profile). Each valid reading stands for
 * the time until the next one, when that is no longer than the profile's gap; the
 * time of a reading out of range counts once the next reading shows how long it
 * lasted. The alarm is raised once per window when the total reaches the rule's
 * minutes, and cleared by the next reading back in range. Pure.
 */
import { isBeyond } from './excursion.js';
import type { CumulativeRule } from './profile.js';

export interface CumulativeState {
  /** Start (ms) of the window the total belongs to. */
  windowStart: number | null;
  /** Milliseconds out of range within the window. */
  outMs: number;
  /** The previous valid reading: its time and whether it was out. */
  prevAt: number | null;
  prevOut: boolean;
  /** First reading out within the window, ms. */
  firstOutAt: number | null;
  /** The alarm is open. */
  alarmed: boolean;
  /** The alarm was raised in this window already: once a window. */
  raised: boolean;
}

export type CumulativeChange =
  | { type: 'raise'; since: number; at: number; value: number; outMs: number }
  | { type: 'clear'; since: number; at: number; outMs: number };

export const EMPTY_CUMULATIVE: CumulativeState = {
  windowStart: null,
  outMs: 0,
  prevAt: null,
  prevOut: false,
  firstOutAt: null,
  alarmed: false,
  raised: false,
};

/** Advances by one valid reading; `windowStart` is the start (ms) of the window holding `time`. */
export function stepCumulative(
  rule: CumulativeRule,
  state: CumulativeState,
  time: number,
  value: number,
  gapMs: number,
  windowStart: number,
): { state: CumulativeState; changes: CumulativeChange[] } {
  const s: CumulativeState = { ...state };
  if (s.windowStart !== windowStart) {
    Object.assign(s, { windowStart, outMs: 0, firstOutAt: null, raised: false });
  }
  if (s.prevAt !== null && s.prevOut && time - s.prevAt <= gapMs) {
    s.outMs += Math.max(0, time - Math.max(s.prevAt, windowStart));
  }
  const out = isBeyond(rule, value);
  if (out) s.firstOutAt ??= time;
  s.prevAt = time;
  s.prevOut = out;

  const changes: CumulativeChange[] = [];
  const since = s.firstOutAt ?? time;
  if (
    !s.alarmed &&
    !s.raised &&
    s.firstOutAt !== null &&
    s.outMs >= rule.minutes * 60_000
  ) {
    Object.assign(s, { alarmed: true, raised: true });
    changes.push({ type: 'raise', since, at: time, value, outMs: s.outMs });
  }
  if (s.alarmed && !out) {
    s.alarmed = false;
    changes.push({ type: 'clear', since, at: time, outMs: s.outMs });
  }
  return { state: s, changes };
}
