import type { Range } from '../types.js';
import { outOfRange } from './ranges.js';

const W = 200;
const H = 44;

/**
 * 24 hours of half-hour means as a line over the profile's range (the green band);
 * points out of range in red. A missing half hour breaks the line.
 */
export function Sparkline({
  values,
  range,
}: {
  values: Array<number | null>;
  range: Range;
}) {
  const known = values.filter((v): v is number => v !== null);
  const lo = Math.min(range.low - 1, ...known);
  const hi = Math.max(range.high + 1, ...known);
  const x = (i: number): number => (i / Math.max(1, values.length - 1)) * W;
  const y = (v: number): number => H - 2 - ((v - lo) / (hi - lo)) * (H - 4);
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)} ${y(v).toFixed(1)}`;
    pen = true;
  });
  // A half hour alone between gaps has no line to be part of: it gets a dot.
  const lone = values
    .map((v, i) => [v, i] as const)
    .filter(([v, i]) => v !== null && values[i - 1] == null && values[i + 1] == null);
  const hot = values
    .map((v, i) => [v, i] as const)
    .filter(([v]) => v !== null && outOfRange(v, range));
  return (
    <svg
      class="spark"
      viewBox={`0 0 ${W} ${H}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={`Last 24 hours: ${known.length ? `${Math.min(...known).toFixed(1)} to ${Math.max(...known).toFixed(1)} °C` : 'no readings'}`}
    >
      <rect
        class="band"
        x="0"
        width={W}
        y={y(range.high)}
        height={Math.max(0, y(range.low) - y(range.high))}
      />
      <path class="line" d={d} />
      {lone.map(([v, i]) => (
        <circle class="dot" cx={x(i)} cy={y(v!)} r="2.2" />
      ))}
      {hot.map(([v, i]) => (
        <circle class="hot" cx={x(i)} cy={y(v!)} r="2.2" />
      ))}
    </svg>
  );
}
