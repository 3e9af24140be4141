/**
 * How long each reading's value stood. A valid reading stands from its time until
 * the next valid reading of the same sensor, when that comes within `gapMs`;
 * otherwise the time between them is unknown (a gap in the data) and counts for
 * nothing. This is how a logger that samples every few minutes is read: each sample
 * holds until the next. Reports (minutes out of range, MKT) weigh readings by it.
 */

/** A valid temperature at a time (ms). */
export interface Sample {
  time: number;
  valueC: number;
}

/** A stretch of time [start, end) in ms with the value that stood through it. */
export interface Stretch {
  start: number;
  end: number;
  valueC: number;
}

export interface Coverage {
  /** The stretches with a known value, clipped to [from, to). */
  known: Stretch[];
  /** The stretches without readings within [from, to), in order. */
  gaps: Array<{ start: number; end: number }>;
}

/**
 * The coverage of [from, to) by `samples` (sorted by time). Give the samples from
 * `from − gapMs` to `to + gapMs`, so that the stretches across the edges are known.
 */
export function coverage(
  samples: readonly Sample[],
  gapMs: number,
  from: number,
  to: number,
): Coverage {
  const known: Stretch[] = [];
  for (let i = 0; i + 1 < samples.length; i += 1) {
    const a = samples[i]!;
    const b = samples[i + 1]!;
    if (b.time - a.time > gapMs) continue;
    const start = Math.max(a.time, from);
    const end = Math.min(b.time, to);
    if (end > start) known.push({ start, end, valueC: a.valueC });
  }
  return { known, gaps: complement(known, from, to) };
}

function complement(
  known: readonly Stretch[],
  from: number,
  to: number,
): Array<{ start: number; end: number }> {
  const gaps: Array<{ start: number; end: number }> = [];
  let at = from;
  for (const k of known) {
    if (k.start > at) gaps.push({ start: at, end: k.start });
    at = Math.max(at, k.end);
  }
  if (to > at) gaps.push({ start: at, end: to });
  return gaps;
}

/** Milliseconds of `known` during which `test` holds for the value. */
export function durationWhere(
  known: readonly Stretch[],
  test: (c: number) => boolean,
): number {
  let ms = 0;
  for (const k of known) if (test(k.valueC)) ms += k.end - k.start;
  return ms;
}
