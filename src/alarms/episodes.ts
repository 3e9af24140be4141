/**
 * The excursion episodes in a stretch of readings, found by running the excursion
 * rules from an empty state over them. Used for readings that arrived late: they are
 * evaluated in their own time, beside the readings stored around them, and never
 * through the live state. Pure.
 */
import type { RuleReading } from './evaluate.js';
import { EMPTY_EXCURSION, stepExcursion, type ExcursionState } from './excursion.js';
import { gapMs, type ExcursionRule, type ProfileRules } from './profile.js';

/** An excursion that lasted long enough to raise its rule's alarm. Times in ms. */
export interface Episode {
  rule: ExcursionRule;
  sensor: string;
  /** First reading out of range. */
  since: number;
  /** The reading at which the rule's duration was reached. */
  raisedAt: number;
  /** First reading back in range; null when still out at the last reading given. */
  until: number | null;
  /** Last reading of the episode that was out of range. */
  lastOutAt: number;
  peak: number | null;
}

/** Every episode of every excursion rule in `readings` (sorted by time). */
export function findEpisodes(
  rules: ProfileRules,
  readings: readonly RuleReading[],
): Episode[] {
  const episodes: Episode[] = [];
  const open = new Map<string, Episode>();
  const states = new Map<string, ExcursionState>();
  const gap = gapMs(rules);
  for (const r of readings) {
    if (r.temperatureC === null || r.quality !== 'good') continue;
    for (const rule of rules.excursions) {
      const key = `${r.sensor}\u0000${rule.id}`;
      const step = stepExcursion(
        rule,
        states.get(key) ?? EMPTY_EXCURSION,
        r.time,
        r.temperatureC,
        gap,
      );
      states.set(key, step.state);
      const current = open.get(key);
      if (current && step.state.alarmed) {
        current.lastOutAt = r.time;
        current.peak = step.state.peak;
      }
      if (step.change?.type === 'raise') {
        const e: Episode = {
          rule,
          sensor: r.sensor,
          since: step.change.since,
          raisedAt: r.time,
          until: null,
          lastOutAt: r.time,
          peak: step.state.peak,
        };
        open.set(key, e);
        episodes.push(e);
      } else if (step.change?.type === 'clear' && current) {
        current.until = r.time;
        current.peak = step.change.peak;
        open.delete(key);
      }
    }
  }
  return episodes;
}
