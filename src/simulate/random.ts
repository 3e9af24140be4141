/**
 * A small seeded pseudo-random source (xorshift32 over a mixed seed), so that a
 * simulation run with the same seed produces the same values. Not for anything that
 * needs unpredictability.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = mix(seed >>> 0) || 0x9e3779b9;
  }

  /** A whole number from 0 to 2^32 − 1. */
  nextUint32(): number {
    let x = this.state;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    this.state = x;
    return x;
  }

  /** A number in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** A number in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** A whole number from min to max, both included. */
  int(min: number, max: number): number {
    return min + Math.floor((max - min + 1) * this.next());
  }

  /** A normally distributed number (Box–Muller). */
  normal(mean: number, sd: number): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * True with the probability that an event happening on average every `meanMs`
   * happens within the next `dtMs` (a Poisson process), so event rates do not depend
   * on how often the caller asks.
   */
  chance(dtMs: number, meanMs: number): boolean {
    return this.next() < 1 - Math.exp(-dtMs / meanMs);
  }

  /** A new source whose sequence depends only on this one's next value. */
  fork(): Random {
    return new Random(this.nextUint32());
  }
}

// A 32-bit avalanche step, so that neighbouring seeds give unrelated sequences.
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}
