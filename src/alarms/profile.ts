/**
 * A profile: the rules a device is checked against. The JSON form (snake_case, as
 * stored in `profile.rules` and shown by the API) is parsed once, here, into the
 * typed form the engine uses; `rulesToJson` turns it back.
 *
 * Thresholds are inclusive unless a rule says `"inclusive": false`: a high rule at
 * +8.0 °C is out at exactly +8.0. A rule clears on the other side of `clear_at`
 * (strictly below it for a high rule), so `clear_at` equal to `raise_at` means no
 * hysteresis and a lower `clear_at` keeps the excursion going in between.
 */
import type { AlarmSeverity } from './events.js';
import { Checker, ProfileError } from './profileCheck.js';

export { ProfileError };

/** Ids of the rules every profile has besides its temperature rules. */
export const RESERVED_RULE_IDS = ['sensor_fault', 'offline', 'low_battery'] as const;

/** The profile of a device that was given none. */
export const DEFAULT_PROFILE = 'vaccine_fridge';

export const PROFILE_KINDS = [
  'vaccine_fridge',
  'freezer',
  'controlled_room',
  'custom',
] as const;
export type ProfileKind = (typeof PROFILE_KINDS)[number];

export type Direction = 'high' | 'low';

/** Out of range without interruption for `minutes` (0: at once). */
export interface ExcursionRule {
  /** Name of the rule within its profile, e.g. `heat`; alarms carry it as `rule_id`. */
  id: string;
  direction: Direction;
  /** °C at which the reading is out (at or beyond it when `inclusive`). */
  raiseAt: number;
  /** °C beyond which, on the in-range side, the excursion is over; default `raiseAt`. */
  clearAt: number;
  /** Default true: a reading exactly at `raiseAt` is out. */
  inclusive: boolean;
  /** Minutes out of range before the alarm; 0 raises on the first reading out. */
  minutes: number;
  severity: AlarmSeverity;
}

/** Minutes out of range in total within a window (a calendar day, or since assignment). */
export interface CumulativeRule {
  id: string;
  direction: Direction;
  raiseAt: number;
  inclusive: boolean;
  minutes: number;
  /** `day`: a calendar day in the profile's time zone; `assignment`: since the device got this profile (a shipment). */
  window: 'day' | 'assignment';
  severity: AlarmSeverity;
}

export interface ProfileRules {
  /** The range the product must stay in, °C; reports count minutes below and above it. */
  range: { low: number; high: number; inclusive: boolean };
  /** IANA time zone of calendar days (cumulative windows), default `UTC`. */
  timeZone: string;
  excursions: ExcursionRule[];
  cumulative: CumulativeRule[];
  /** Raised when `invalid` of the last `ofLast` readings are invalid; cleared after `ofLast` valid ones in a row. */
  sensorFault: { invalid: number; ofLast: number } | null;
  /** Raised when no message came from the device for `minutes`. */
  offline: { minutes: number } | null;
  /** Raised at or below `percent` (or `volts`); cleared at or above the clear levels. */
  lowBattery: {
    percent: number | null;
    clearPercent: number | null;
    volts: number | null;
    clearVolts: number | null;
  } | null;
}

export interface Profile {
  name: string;
  kind: ProfileKind;
  description: string;
  rules: ProfileRules;
  builtin: boolean;
}

/** Parses the JSON form of a profile's rules; throws ProfileError naming every bad field. */
export function parseRules(json: unknown): ProfileRules {
  const c = new Checker();
  const root = c.object(json, 'rules');
  const range = c.object(root.range, 'rules.range');
  const rules: ProfileRules = {
    range: {
      low: c.number(range.low, 'rules.range.low'),
      high: c.number(range.high, 'rules.range.high'),
      inclusive: c.boolean(range.inclusive, 'rules.range.inclusive', true),
    },
    timeZone: c.timeZone(root.time_zone, 'rules.time_zone'),
    excursions: c.list(root.excursions, 'rules.excursions', (v, p) => excursion(c, v, p)),
    cumulative: c.list(root.cumulative, 'rules.cumulative', (v, p) =>
      cumulative(c, v, p),
    ),
    sensorFault: c.optional(root.sensor_fault, (v) => sensorFault(c, v)),
    offline: c.optional(root.offline, (v) => ({
      minutes: c.number(c.object(v, 'rules.offline').minutes, 'rules.offline.minutes', {
        min: 1,
      }),
    })),
    lowBattery: c.optional(root.low_battery, (v) => lowBattery(c, v)),
  };
  if (rules.range.low >= rules.range.high)
    c.fail('rules.range', 'low must be below high');
  const ids = [...rules.excursions, ...rules.cumulative].map((r) => r.id);
  c.unique(
    [...RESERVED_RULE_IDS, ...ids],
    'rules: rule ids must be unique and none of sensor_fault, offline, low_battery',
  );
  c.done();
  return rules;
}

function excursion(c: Checker, v: unknown, path: string): ExcursionRule {
  const o = c.object(v, path);
  const direction = c.direction(o.direction, `${path}.direction`);
  const raiseAt = c.number(o.raise_at, `${path}.raise_at`);
  const clearAt =
    o.clear_at === undefined ? raiseAt : c.number(o.clear_at, `${path}.clear_at`);
  if (direction === 'high' ? clearAt > raiseAt : clearAt < raiseAt) {
    c.fail(`${path}.clear_at`, `must be on the in-range side of raise_at (${raiseAt})`);
  }
  return {
    id: c.ruleId(o.id, `${path}.id`),
    direction,
    raiseAt,
    clearAt,
    inclusive: c.boolean(o.inclusive, `${path}.inclusive`, true),
    minutes: c.number(o.minutes, `${path}.minutes`, { min: 0 }),
    severity: c.severity(o.severity, `${path}.severity`),
  };
}

function cumulative(c: Checker, v: unknown, path: string): CumulativeRule {
  const o = c.object(v, path);
  return {
    id: c.ruleId(o.id, `${path}.id`),
    direction: c.direction(o.direction, `${path}.direction`),
    raiseAt: c.number(o.raise_at, `${path}.raise_at`),
    inclusive: c.boolean(o.inclusive, `${path}.inclusive`, true),
    minutes: c.number(o.minutes, `${path}.minutes`, { min: 0 }),
    window: c.oneOf(o.window, `${path}.window`, ['day', 'assignment'] as const),
    severity: c.severity(o.severity, `${path}.severity`),
  };
}

function sensorFault(c: Checker, v: unknown): ProfileRules['sensorFault'] {
  const o = c.object(v, 'rules.sensor_fault');
  const ofLast = c.integer(o.of_last, 'rules.sensor_fault.of_last', { min: 1, max: 30 });
  const invalid = c.integer(o.invalid, 'rules.sensor_fault.invalid', { min: 1, max: 30 });
  if (invalid > ofLast) c.fail('rules.sensor_fault.invalid', 'must not exceed of_last');
  return { invalid, ofLast };
}

function lowBattery(c: Checker, v: unknown): ProfileRules['lowBattery'] {
  const o = c.object(v, 'rules.low_battery');
  const p = 'rules.low_battery';
  const percent = c.nullable(o.percent, (x) => c.number(x, `${p}.percent`, { min: 0 }));
  const volts = c.nullable(o.volts, (x) => c.number(x, `${p}.volts`, { min: 0 }));
  if (percent === null && volts === null) c.fail(p, 'needs percent or volts');
  return {
    percent,
    clearPercent: c.nullable(o.clear_percent, (x) => c.number(x, `${p}.clear_percent`)),
    volts,
    clearVolts: c.nullable(o.clear_volts, (x) => c.number(x, `${p}.clear_volts`)),
  };
}

/** The JSON form of the rules, as stored and as the API shows them. */
export function rulesToJson(r: ProfileRules): Record<string, unknown> {
  const band = (x: {
    id: string;
    direction: Direction;
    raiseAt: number;
    inclusive: boolean;
  }) => ({
    id: x.id,
    direction: x.direction,
    raise_at: x.raiseAt,
    inclusive: x.inclusive,
  });
  return {
    range: r.range,
    time_zone: r.timeZone,
    excursions: r.excursions.map((x) => ({
      ...band(x),
      clear_at: x.clearAt,
      minutes: x.minutes,
      severity: x.severity,
    })),
    cumulative: r.cumulative.map((x) => ({
      ...band(x),
      minutes: x.minutes,
      window: x.window,
      severity: x.severity,
    })),
    sensor_fault: r.sensorFault && {
      invalid: r.sensorFault.invalid,
      of_last: r.sensorFault.ofLast,
    },
    offline: r.offline,
    low_battery: r.lowBattery && {
      percent: r.lowBattery.percent,
      clear_percent: r.lowBattery.clearPercent,
      volts: r.lowBattery.volts,
      clear_volts: r.lowBattery.clearVolts,
    },
  };
}

/** The longest time, in milliseconds, a rule may need to look back over readings. */
export function longestRuleMs(r: ProfileRules): number {
  const minutes = Math.max(0, ...r.excursions.map((x) => x.minutes));
  return minutes * 60_000;
}

/** Milliseconds between two readings beyond which the time between them is unknown. */
export function gapMs(r: ProfileRules): number {
  return (r.offline?.minutes ?? DEFAULT_GAP_MINUTES) * 60_000;
}

/** Used as the largest trusted interval between readings when a profile has no offline rule. */
export const DEFAULT_GAP_MINUTES = 30;
