/**
 * The mean kinetic temperature of a device over the last 24 hours and the last 30
 * days before a time, per sensor, with how much of each window the readings cover.
 */
import type { Pool } from '../db/pool.js';
import { gapMs, type ProfileRules } from '../alarms/profile.js';
import { coverage, type Sample } from './coverage.js';
import { meanKineticTemperature } from './mkt.js';
import { readSamples } from './samples.js';

const HOUR_MS = 3_600_000;
const WINDOWS = [
  { name: '24h', ms: 24 * HOUR_MS },
  { name: '30d', ms: 30 * 24 * HOUR_MS },
] as const;

export interface MktWindow {
  window: '24h' | '30d';
  from: string;
  to: string;
  mkt_c: number | null;
  /** Share of the window with readings, 0 to 1. */
  covered: number;
}

export interface MktReport {
  device_id: string;
  at: string;
  sensors: Array<{ sensor: string; windows: MktWindow[] }>;
}

export async function mktReport(
  pool: Pool,
  deviceId: string,
  rules: ProfileRules,
  at: number,
): Promise<MktReport> {
  const longest = WINDOWS[WINDOWS.length - 1]!.ms;
  const bySensor = await readSamples(
    pool,
    deviceId,
    at - longest - gapMs(rules),
    at + gapMs(rules),
  );
  const sensors = [...bySensor].map(([sensor, s]) => ({
    sensor,
    windows: WINDOWS.map((w) => mktWindow(s.valid, gapMs(rules), w.name, at - w.ms, at)),
  }));
  return { device_id: deviceId, at: new Date(at).toISOString(), sensors };
}

function mktWindow(
  samples: readonly Sample[],
  gap: number,
  window: MktWindow['window'],
  from: number,
  to: number,
): MktWindow {
  const cov = coverage(samples, gap, from, to);
  const known = cov.known.reduce((a, k) => a + k.end - k.start, 0);
  const mkt = meanKineticTemperature(cov.known);
  return {
    window,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    mkt_c: mkt === null ? null : Math.round(mkt * 100) / 100,
    covered: Math.round((known / (to - from)) * 1000) / 1000,
  };
}
