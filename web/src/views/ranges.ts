import type { Range } from '../types.js';

/** True when `t` °C is outside the range (at the limit, when inclusive). */
export function outOfRange(t: number, r: Range): boolean {
  return r.inclusive ? t <= r.low || t >= r.high : t < r.low || t > r.high;
}
