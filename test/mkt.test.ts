import { describe, expect, it } from 'vitest';
import { coverage, durationWhere } from '../src/reports/coverage.js';
import { meanKineticTemperature } from '../src/reports/mkt.js';

const H = 3_600_000;

/** MKT written out independently, for temperatures that stood equally long. */
function byHand(celsius: number[]): number {
  const k = celsius.map((c) => c + 273.15);
  const mean = k.reduce((a, t) => a + Math.exp(-10_000 / t), 0) / k.length;
  return 10_000 / -Math.log(mean) - 273.15;
}

describe('mean kinetic temperature', () => {
  it('is the temperature itself when it never changes', () => {
    const mkt = meanKineticTemperature([{ start: 0, end: 24 * H, valueC: 5 }]);
    expect(mkt).toBeCloseTo(5, 10);
  });

  it('weighs warm hours more than the plain mean does (ΔH/R = 10,000 K)', () => {
    const mkt = meanKineticTemperature([
      { start: 0, end: H, valueC: 0 },
      { start: H, end: 2 * H, valueC: 20 },
    ])!;
    expect(mkt).toBeCloseTo(byHand([0, 20]), 10);
    expect(mkt).toBeCloseTo(14.82, 2);
  });

  it('weighs each temperature by how long it stood, not by how many readings it had', () => {
    const dense = [0, 1, 2, 3, 4, 5].map((i) => ({ time: i * 10 * 60_000, valueC: 25 }));
    const samples = [...dense, { time: H, valueC: 5 }, { time: 4 * H, valueC: 5 }];
    const cov = coverage(samples, 4 * H, 0, 4 * H);
    const mkt = meanKineticTemperature(cov.known)!;
    expect(mkt).toBeCloseTo(byHand([25, 5, 5, 5]), 10);
  });

  it('leaves out the time of a gap in the data', () => {
    const samples = [
      { time: 0, valueC: 4 },
      { time: H, valueC: 30 },
      { time: 5 * H, valueC: 6 },
      { time: 6 * H, valueC: 6 },
    ];
    const cov = coverage(samples, 2 * H, 0, 6 * H);
    expect(cov.gaps).toEqual([{ start: H, end: 5 * H }]);
    expect(meanKineticTemperature(cov.known)).toBeCloseTo(byHand([4, 6]), 10);
    expect(durationWhere(cov.known, (c) => c > 8)).toBe(0);
  });

  it('is unknown without any time covered', () => {
    expect(meanKineticTemperature([])).toBeNull();
  });
});
