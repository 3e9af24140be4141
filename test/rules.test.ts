import { describe, expect, it } from 'vitest';
import { stepBattery, EMPTY_BATTERY } from '../src/alarms/battery.js';
import {
  evaluateLive,
  splitLate,
  type AlarmChange,
  type RuleReading,
} from '../src/alarms/evaluate.js';
import { emptyDeviceState, type DeviceState } from '../src/alarms/deviceState.js';
import { findEpisodes } from '../src/alarms/episodes.js';
import { parseRules, ProfileError, type ProfileRules } from '../src/alarms/profile.js';

const MIN = 60_000;
const T0 = Date.parse('2024-03-04T08:00:00Z');

/** The rules of the built-in vaccine fridge profile (see migrations/0003_alarms.sql). */
const FRIDGE = parseRules({
  range: { low: 2, high: 8 },
  excursions: [
    { id: 'heat', direction: 'high', raise_at: 8, clear_at: 7.5, minutes: 60 },
    { id: 'freeze', direction: 'low', raise_at: 2, clear_at: 2.5, minutes: 60 },
    { id: 'heat_immediate', direction: 'high', raise_at: 12, clear_at: 11, minutes: 0 },
  ],
  cumulative: [
    { id: 'heat_daily', direction: 'high', raise_at: 8, minutes: 120, window: 'day' },
  ],
  sensor_fault: { invalid: 3, of_last: 10 },
  offline: { minutes: 30 },
  low_battery: { percent: 20, clear_percent: 25 },
});

function reading(
  minute: number,
  temperatureC: number | null,
  extra: Partial<RuleReading> = {},
): RuleReading {
  const time = T0 + minute * MIN;
  return {
    sensor: '',
    time,
    receivedAt: time + 1000,
    temperatureC,
    quality: temperatureC === null ? 'invalid' : 'good',
    flags: temperatureC === null ? ['sensor_disconnected'] : [],
    batteryPct: null,
    batteryV: null,
    ...extra,
  };
}

/** Temperatures every `step` minutes from minute 0. */
function every(step: number, temps: Array<number | null>): RuleReading[] {
  return temps.map((t, i) => reading(i * step, t));
}

function run(
  rules: ProfileRules,
  readings: RuleReading[],
  state: DeviceState = emptyDeviceState(),
) {
  return evaluateLive({ rules, assignedAt: 0 }, state, readings);
}

function brief(changes: AlarmChange[]): string[] {
  return changes.map(
    (c) => `${c.type} ${c.ruleId} since+${(c.since - T0) / MIN} at+${(c.at - T0) / MIN}`,
  );
}

describe('single-event excursion', () => {
  it('raises after 60 minutes out of range without interruption, once for the episode', () => {
    const { changes } = run(
      FRIDGE,
      every(5, [5, 8.5, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9.5, 9, 5]),
    );
    expect(brief(changes)).toEqual([
      'raise heat since+5 at+65',
      'clear heat since+5 at+75',
    ]);
  });

  it('counts exactly +8.0 °C as out of range (inclusive threshold)', () => {
    const { changes } = run(FRIDGE, every(10, [8, 8, 8, 8, 8, 8, 8]));
    expect(brief(changes)).toEqual(['raise heat since+0 at+60']);
  });

  it('does not raise when the excursion is interrupted before 60 minutes', () => {
    const { changes } = run(FRIDGE, every(10, [9, 9, 9, 9, 9, 7, 9, 9, 9, 9, 9]));
    expect(changes.filter((c) => c.ruleId === 'heat')).toEqual([]);
  });

  it('keeps the episode going between the raise and clear levels (hysteresis)', () => {
    const { changes } = run(FRIDGE, every(10, [8.2, 7.8, 7.9, 7.7, 8.1, 7.6, 8.0, 7.4]));
    expect(brief(changes)).toEqual([
      'raise heat since+0 at+60',
      'clear heat since+0 at+70',
    ]);
  });

  it('raises the freeze alarm at or below +2.0 °C for 60 minutes', () => {
    const { changes } = run(FRIDGE, every(15, [4, 2, 1.5, 1, 0.5, 1, 3]));
    expect(brief(changes)).toEqual([
      'raise freeze since+15 at+75',
      'clear freeze since+15 at+90',
    ]);
  });

  it('raises the immediate level at once and clears it below its clear level', () => {
    const { changes } = run(FRIDGE, every(1, [6, 12, 13, 11.5, 10.9]));
    expect(brief(changes.filter((c) => c.ruleId === 'heat_immediate'))).toEqual([
      'raise heat_immediate since+1 at+1',
      'clear heat_immediate since+1 at+4',
    ]);
  });

  it('restarts a timer after a gap in the data but never clears an alarm because of one', () => {
    const before = run(FRIDGE, every(10, [9, 9, 9, 9]));
    const afterGap = run(FRIDGE, [reading(120, 9), reading(130, 9)], before.state);
    expect(afterGap.changes).toEqual([]);
    const raised = run(FRIDGE, every(10, [9, 9, 9, 9, 9, 9, 9]));
    const stillOpen = run(FRIDGE, [reading(200, 9)], raised.state);
    expect(brief(raised.changes)).toEqual(['raise heat since+0 at+60']);
    expect(stillOpen.changes).toEqual([]);
  });

  it('ignores invalid readings: they neither interrupt nor extend an excursion', () => {
    const temps = [9, 9, null, 9, 9, 9, 9, 9];
    const { changes } = run({ ...FRIDGE, sensorFault: null }, every(10, temps));
    expect(brief(changes)).toEqual(['raise heat since+0 at+60']);
  });
});

describe('cumulative excursion', () => {
  it('raises once the minutes out of range add up to the daily allowance', () => {
    const temps = [9, 9, 9, 7, 7, 9, 9, 9, 7, 9, 9, 9, 7];
    const { changes } = run({ ...FRIDGE, excursions: [] }, every(20, temps));
    expect(brief(changes)).toEqual([
      'raise heat_daily since+0 at+160',
      'clear heat_daily since+0 at+160',
    ]);
    const raised = changes[0]!;
    expect(raised.detail.minutes_out).toBe(120);
  });

  it('starts counting afresh on a new calendar day', () => {
    const late = Date.parse('2024-03-04T23:00:00Z');
    const rs = [0, 30, 60, 90, 120, 150].map((m, i) => ({
      ...reading(0, i === 5 ? 5 : 9),
      time: late + m * MIN,
      receivedAt: late + m * MIN + 1000,
    }));
    const { changes } = run({ ...FRIDGE, excursions: [] }, rs);
    expect(changes).toEqual([]);
  });
});

describe('sensor fault', () => {
  it('raises one sensor fault for repeated invalid values and no temperature alarm', () => {
    const { changes } = run(
      FRIDGE,
      every(5, [
        5,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
      ]),
    );
    expect(changes.map((c) => `${c.type} ${c.kind}`)).toEqual(['raise sensor_fault']);
    expect(changes[0]!.detail.flags).toEqual(['sensor_disconnected']);
  });

  it('clears after ten valid readings in a row', () => {
    const temps = [null, null, null, ...Array<number>(10).fill(5)];
    const { changes } = run(FRIDGE, every(1, temps));
    expect(brief(changes)).toEqual([
      'raise sensor_fault since+0 at+2',
      'clear sensor_fault since+0 at+12',
    ]);
  });

  it('does not raise for one invalid value among valid ones', () => {
    const { changes } = run(FRIDGE, every(1, [5, null, 5, 5, null, 5, 5, 5, 5, 5, 5, 5]));
    expect(changes).toEqual([]);
  });
});

describe('low battery', () => {
  const rule = FRIDGE.lowBattery!;
  it('raises at or below 20 % and clears at 25 % or more', () => {
    const a = stepBattery(rule, EMPTY_BATTERY, 1, 20, null);
    const b = stepBattery(rule, a.state, 2, 23, null);
    const c = stepBattery(rule, b.state, 3, 25, null);
    expect([a.change?.type, b.change?.type, c.change?.type]).toEqual([
      'raise',
      undefined,
      'clear',
    ]);
  });
});

describe('late readings', () => {
  it('are those received long after their time or not newer than the newest live one', () => {
    const live = run(FRIDGE, [reading(60, 5)]).state;
    const old = { ...reading(10, 9), receivedAt: T0 + 61 * MIN };
    const delayed = { ...reading(70, 9), receivedAt: T0 + 90 * MIN };
    const fresh = reading(71, 9);
    const { live: l, late } = splitLate(live, [old, delayed, fresh], 5 * MIN);
    expect(late).toEqual([old, delayed]);
    expect(l).toEqual([fresh]);
  });

  it('form episodes in their own time', () => {
    const rs = every(10, [5, 9, 9, 9, 9, 9, 9, 9, 5]);
    const episodes = findEpisodes(FRIDGE, rs);
    expect(
      episodes.map((e) => [
        e.rule.id,
        (e.since - T0) / MIN,
        (e.until! - T0) / MIN,
        e.peak,
      ]),
    ).toEqual([['heat', 10, 80, 9]]);
  });
});

describe('profiles', () => {
  it('reject rules with every problem named', () => {
    const bad = () =>
      parseRules({
        range: { low: 8, high: 2 },
        excursions: [{ id: 'Heat!', direction: 'up', raise_at: 'x', minutes: -1 }],
        offline: { minutes: 0 },
      });
    expect(bad).toThrow(ProfileError);
    try {
      bad();
    } catch (err) {
      expect((err as ProfileError).problems).toEqual([
        'rules.excursions[0].direction must be one of high, low',
        'rules.excursions[0].raise_at must be a number',
        'rules.excursions[0].id must be 1–32 of a-z, 0-9 and _, starting with a letter',
        'rules.excursions[0].minutes must be ≥ 0',
        'rules.offline.minutes must be ≥ 1',
        'rules.range low must be below high',
      ]);
    }
  });

  it('refuse a clear level on the wrong side of the raise level', () => {
    expect(() =>
      parseRules({
        range: { low: 2, high: 8 },
        excursions: [
          { id: 'heat', direction: 'high', raise_at: 8, clear_at: 9, minutes: 60 },
        ],
      }),
    ).toThrow(/clear_at must be on the in-range side of raise_at/);
  });
});
