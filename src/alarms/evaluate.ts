/**
 * Runs a profile's rules over one device's readings, in order of reading time, and
 * says which alarms to raise and clear. Pure: the engine loads the state, calls this,
 * and writes back the state and the changes in one transaction.
 *
 * A reading is *late* when it arrived more than `lateAfterMs` after its own time, or
 * is not newer than the newest live reading of its sensor. Late readings never touch
 * the live state; `historical.ts` evaluates them in their own time.
 */
import { startOfDayAt } from '../reports/days.js';
import { stepBattery } from './battery.js';
import { EMPTY_CUMULATIVE, stepCumulative } from './cumulative.js';
import { emptySensorState, type DeviceState, type SensorState } from './deviceState.js';
import type { AlarmKind, AlarmSeverity } from './events.js';
import { EMPTY_EXCURSION, stepExcursion } from './excursion.js';
import { gapMs, type ExcursionRule, type ProfileRules } from './profile.js';
import { stepFault } from './sensorFault.js';

/** A stored reading as the rules see it; times in ms since 1970. */
export interface RuleReading {
  sensor: string;
  time: number;
  receivedAt: number;
  temperatureC: number | null;
  quality: 'good' | 'invalid';
  flags: string[];
  batteryPct: number | null;
  batteryV: number | null;
}

/** An alarm to raise or clear. `since` and `at` are reading times, ms. */
export interface AlarmChange {
  type: 'raise' | 'clear';
  ruleId: string;
  sensor: string;
  kind: AlarmKind;
  severity: AlarmSeverity;
  since: number;
  at: number;
  /** What the summary and the API show: value, peak, limit, minutes, flags. */
  detail: Record<string, unknown>;
}

export interface EvaluationContext {
  rules: ProfileRules;
  /** When the device got its profile (ms); start of `assignment` windows. */
  assignedAt: number;
}

/** Splits readings (sorted by time) into live ones and late ones. */
export function splitLate(
  state: DeviceState,
  readings: readonly RuleReading[],
  lateAfterMs: number,
): { live: RuleReading[]; late: RuleReading[] } {
  const live: RuleReading[] = [];
  const late: RuleReading[] = [];
  for (const r of readings) {
    const newest = state.sensors[r.sensor]?.lastTime ?? null;
    const behind = r.receivedAt - r.time > lateAfterMs;
    (behind || (newest !== null && r.time <= newest) ? late : live).push(r);
  }
  return { live, late };
}

/** Advances the live state over `readings` (sorted by time); returns the new state. */
export function evaluateLive(
  ctx: EvaluationContext,
  state: DeviceState,
  readings: readonly RuleReading[],
): { state: DeviceState; changes: AlarmChange[] } {
  const next: DeviceState = { ...state, sensors: { ...state.sensors } };
  const changes: AlarmChange[] = [];
  for (const r of readings) {
    const s = stepSensor(ctx, next.sensors[r.sensor] ?? emptySensorState(), r, changes);
    next.sensors[r.sensor] = s;
    if (ctx.rules.lowBattery) {
      const b = stepBattery(
        ctx.rules.lowBattery,
        next.battery,
        r.time,
        r.batteryPct,
        r.batteryV,
      );
      next.battery = b.state;
      if (b.change) changes.push(batteryChange(b.change));
    }
  }
  return { state: next, changes };
}

function stepSensor(
  ctx: EvaluationContext,
  prev: SensorState,
  r: RuleReading,
  changes: AlarmChange[],
): SensorState {
  const s: SensorState = {
    ...prev,
    lastTime: Math.max(prev.lastTime ?? r.time, r.time),
    excursions: { ...prev.excursions },
    cumulative: { ...prev.cumulative },
  };
  stepSensorFault(ctx, s, r, changes);
  // Invalid readings never reach the temperature rules: no value, no excursion.
  if (r.temperatureC === null || r.quality !== 'good') return s;
  stepExcursions(ctx, s, r.sensor, r.time, r.temperatureC, changes);
  stepCumulatives(ctx, s, r.sensor, r.time, r.temperatureC, changes);
  return s;
}

function stepSensorFault(
  ctx: EvaluationContext,
  s: SensorState,
  r: RuleReading,
  changes: AlarmChange[],
): void {
  const fault = ctx.rules.sensorFault;
  if (!fault) return;
  const f = stepFault(fault, s.fault, r.time, r.quality === 'invalid', r.flags);
  s.fault = f.state;
  if (!f.change) return;
  changes.push({
    ...base(f.change, 'sensor_fault', r.sensor, 'sensor_fault', 'warning'),
    detail: { flags: f.change.flags },
  });
}

function stepExcursions(
  ctx: EvaluationContext,
  s: SensorState,
  sensor: string,
  time: number,
  value: number,
  changes: AlarmChange[],
): void {
  const gap = gapMs(ctx.rules);
  for (const rule of ctx.rules.excursions) {
    const before = s.excursions[rule.id] ?? EMPTY_EXCURSION;
    const e = stepExcursion(rule, before, time, value, gap);
    s.excursions[rule.id] = e.state;
    if (e.change) changes.push(excursionChange(rule, sensor, e.change));
  }
}

function stepCumulatives(
  ctx: EvaluationContext,
  s: SensorState,
  sensor: string,
  time: number,
  value: number,
  changes: AlarmChange[],
): void {
  const gap = gapMs(ctx.rules);
  for (const rule of ctx.rules.cumulative) {
    const window =
      rule.window === 'day' ? startOfDayAt(time, ctx.rules.timeZone) : ctx.assignedAt;
    const before = s.cumulative[rule.id] ?? EMPTY_CUMULATIVE;
    const c = stepCumulative(rule, before, time, value, gap, window);
    s.cumulative[rule.id] = c.state;
    for (const ch of c.changes) {
      changes.push({
        ...base(ch, rule.id, sensor, 'cumulative_excursion', rule.severity),
        detail: {
          limit: rule.raiseAt,
          direction: rule.direction,
          window: rule.window,
          budget_minutes: rule.minutes,
          minutes_out: Math.round(ch.outMs / 60_000),
          ...(ch.type === 'raise' ? { value: ch.value } : {}),
        },
      });
    }
  }
}

/** The kind of alarm an excursion rule raises. */
export function excursionKind(rule: ExcursionRule): AlarmKind {
  if (rule.minutes === 0) return 'excursion_immediate';
  return rule.direction === 'high' ? 'excursion_high' : 'excursion_low';
}

function excursionChange(
  rule: ExcursionRule,
  sensor: string,
  ch: {
    type: 'raise' | 'clear';
    since: number;
    at: number;
    value?: number;
    peak?: number | null;
  },
): AlarmChange {
  return {
    ...base(ch, rule.id, sensor, excursionKind(rule), rule.severity),
    detail: {
      limit: rule.raiseAt,
      direction: rule.direction,
      minutes: rule.minutes,
      ...(ch.value !== undefined ? { value: ch.value } : {}),
      ...(ch.peak !== undefined ? { peak: ch.peak } : {}),
    },
  };
}

function batteryChange(ch: {
  type: 'raise' | 'clear';
  since: number;
  at: number;
  percent?: number | null;
  volts?: number | null;
}): AlarmChange {
  return {
    ...base(ch, 'low_battery', '', 'low_battery', 'warning'),
    detail: ch.type === 'raise' ? { percent: ch.percent, volts: ch.volts } : {},
  };
}

function base(
  ch: { type: 'raise' | 'clear'; since: number; at: number },
  ruleId: string,
  sensor: string,
  kind: AlarmKind,
  severity: AlarmSeverity,
): Omit<AlarmChange, 'detail'> {
  return { type: ch.type, ruleId, sensor, kind, severity, since: ch.since, at: ch.at };
}
