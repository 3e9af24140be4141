import { zoneResolver } from './zoneResolver.js';
import { wallAsUtc, type WallClock } from './isoTime.js';

/** Zones are few and their formatters costly to build: one per zone, kept. */
const CLOCKS = new Map<string, WallClock>();
const MAX_ZONES = 1000;

/**
 * The wall clock of a time zone: an IANA name (`Europe/Berlin`), `UTC`, or a fixed
 * offset (`+02:00`); UTC when none is given. Throws, saying what is accepted, when
 * the zone is unknown. In a zone with daylight saving time a wall time that occurs
 * twice (autumn) is read as its first occurrence, and one that does not occur
 * (spring) with the offset before the change.
 */
export function wallClockOf(zone: string | undefined): WallClock {
  if (zone === undefined || zone === 'UTC') return wallAsUtc;
  let clock = CLOCKS.get(zone);
  if (clock === undefined) {
    clock = zoneResolver(zone);
    if (CLOCKS.size >= MAX_ZONES) CLOCKS.clear();
    CLOCKS.set(zone, clock);
  }
  return clock;
}

/** The zone's error sentence, or undefined when `zone` is a zone ingest can use. */
export function zoneProblem(zone: string): string | undefined {
  try {
    wallClockOf(zone);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
