/**
 * One turn of the rule engine: the readings of a set of devices evaluated in one
 * transaction, with a fixed number of statements whatever the number of devices:
 *
 * 1. lock (creating when missing) the devices' rule state, with their profiles;
 * 2. clear the alarms of rules a device's profile no longer has (ruleChange.ts);
 * 3. run each device's live readings through its rules, in order of reading time
 *    (pure, evaluate.ts), giving way to the event loop between devices;
 * 4. write the alarm changes: per round, one statement for the clears and one for the
 *    raises. Round n holds the n-th change of each device, sensor and rule, so an
 *    episode that ends and a new one that starts within the turn keep their order;
 *    one round is the rule;
 * 5. record the historical excursions of the late readings (historical.ts);
 * 6. clear the offline alarm of the devices that had one (step 1 says which), and
 *    write the states back.
 *
 * The events are returned in the order of the changes, for after the commit.
 */
import type { PoolClient } from '../db/pool.js';
import {
  clearAlarms,
  clearRuleOf,
  raiseAlarms,
  type AlarmRow,
  type NewAlarm,
} from './alarmStore.js';
import type { DeviceState } from './deviceState.js';
import {
  evaluateLive,
  splitLate,
  type AlarmChange,
  type RuleReading,
} from './evaluate.js';
import type { AlarmEvent } from './events.js';
import { evaluateLate, type LateReadings } from './historical.js';
import { retireRemovedRules, rulesKey } from './ruleChange.js';
import { lockDeviceStates, saveDeviceStates, type DeviceContext } from './stateStore.js';
import { changeSummary } from './summary.js';

/** A stored reading with its device, as the engine queues it. */
export interface EngineReading extends RuleReading {
  deviceId: string;
}

/** One alarm event to hand to the listeners once the turn has committed. */
export interface TurnEvent {
  type: AlarmEvent['type'];
  row: AlarmRow;
  summary?: string;
}

export interface TurnResult {
  events: TurnEvent[];
  /** Each device's context as the turn loaded it (its profile, its site). */
  contexts: Map<string, DeviceContext>;
}

/** Milliseconds of evaluation after which a turn lets the event loop run (ingest, the other lane). */
const YIELD_AFTER_MS = 5;

interface Change {
  ctx: DeviceContext;
  change: AlarmChange;
}

interface StateSave {
  deviceId: string;
  state: DeviceState;
  evaluatedThrough: Date;
}

export async function evaluateTurn(
  c: PoolClient,
  readings: readonly EngineReading[],
  lateAfterMs: number,
): Promise<TurnResult> {
  const byDevice = groupByDevice(readings);
  const contexts = await lockDeviceStates(c, [...byDevice.keys()]);
  const events: TurnEvent[] = [];

  const changed = [...contexts.values()].filter(
    (ctx) => ctx.state.rulesKey !== rulesKey(ctx.profile),
  );
  const retired = await retireRemovedRules(c, changed);
  for (const row of retired.cleared) events.push({ type: 'cleared', row });

  const done = await evaluateDevices(byDevice, contexts, retired.states, lateAfterMs);
  events.push(...(await applyChanges(c, done.changes)));
  for (const row of await evaluateLate(c, done.late))
    events.push({ type: 'raised', row });
  const silent = [...contexts.values()]
    .filter((x) => x.offlineOpen)
    .map((x) => x.deviceId);
  for (const row of await clearRuleOf(c, silent, 'offline')) {
    events.push({
      type: 'cleared',
      row,
      summary: `${row.device_id ?? ''} reporting again`,
    });
  }
  await saveDeviceStates(c, done.saves);
  return { events, contexts };
}

/**
 * Runs each device's live readings through its rules (pure), giving way to the event
 * loop every few milliseconds; returns the alarm changes, the late readings and the
 * states to write back.
 */
async function evaluateDevices(
  byDevice: ReadonlyMap<string, EngineReading[]>,
  contexts: ReadonlyMap<string, DeviceContext>,
  pruned: ReadonlyMap<string, DeviceState>,
  lateAfterMs: number,
): Promise<{ changes: Change[]; late: LateReadings[]; saves: StateSave[] }> {
  const out = {
    changes: [] as Change[],
    late: [] as LateReadings[],
    saves: [] as StateSave[],
  };
  let since = performance.now();
  for (const [deviceId, mine] of byDevice) {
    const ctx = contexts.get(deviceId);
    if (!ctx) continue;
    const current = pruned.get(deviceId) ?? ctx.state;
    const split = splitLate(current, mine, lateAfterMs);
    const { state, changes } = evaluateLive(
      { rules: ctx.profile.rules, assignedAt: ctx.assignedAt },
      current,
      split.live,
    );
    for (const change of changes) out.changes.push({ ctx, change });
    if (split.late.length > 0) out.late.push({ ctx, late: split.late });
    const through = mine.reduce((t, r) => Math.max(t, r.receivedAt), -Infinity);
    out.saves.push({ deviceId, state, evaluatedThrough: new Date(through) });
    if (performance.now() - since > YIELD_AFTER_MS) {
      await new Promise((r) => setImmediate(r));
      since = performance.now();
    }
  }
  return out;
}

/** Writes the alarm changes round by round; returns their events in the order of the changes. */
async function applyChanges(
  c: PoolClient,
  changes: readonly Change[],
): Promise<TurnEvent[]> {
  const rounds: Change[][] = [];
  const roundOf: number[] = [];
  const seen = new Map<string, number>();
  for (const ch of changes) {
    const key = keyOf(ch.ctx.deviceId, ch.change.sensor, ch.change.ruleId);
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    (rounds[n] ??= []).push(ch);
    roundOf.push(n);
  }
  const results = new Map<string, AlarmRow>();
  for (const [n, round] of rounds.entries()) {
    const clears = round.filter((ch) => ch.change.type === 'clear');
    const raises = round.filter((ch) => ch.change.type === 'raise');
    const cleared = await clearAlarms(
      c,
      clears.map(({ ctx, change }) => ({
        deviceId: ctx.deviceId,
        sensor: change.sensor,
        ruleId: change.ruleId,
        until: new Date(change.at),
        detail: change.detail,
      })),
    );
    const raised = await raiseAlarms(c, raises.map(newAlarm));
    for (const row of [...cleared, ...raised])
      results.set(
        `${n}\u0000${keyOf(row.device_id ?? '', row.sensor, row.rule_id)}`,
        row,
      );
  }
  const events: TurnEvent[] = [];
  changes.forEach(({ ctx, change }, i) => {
    const key = keyOf(ctx.deviceId, change.sensor, change.ruleId);
    const row = results.get(`${roundOf[i]}\u0000${key}`);
    if (!row) return;
    const summary = changeSummary(ctx.deviceId, change, ctx.profile.rules.timeZone);
    events.push(
      change.type === 'clear'
        ? { type: 'cleared', row, summary }
        : { type: 'raised', row },
    );
  });
  return events;
}

function newAlarm({ ctx, change }: Change): NewAlarm {
  return {
    deviceId: ctx.deviceId,
    sensor: change.sensor,
    ruleId: change.ruleId,
    kind: change.kind,
    severity: change.severity,
    profile: ctx.profile.name,
    site: ctx.site,
    since: new Date(change.since),
    summary: changeSummary(ctx.deviceId, change, ctx.profile.rules.timeZone),
    detail: { ...change.detail, reached_at: new Date(change.at).toISOString() },
  };
}

function keyOf(deviceId: string, sensor: string, ruleId: string): string {
  return `${deviceId}\u0000${sensor}\u0000${ruleId}`;
}

function groupByDevice(readings: readonly EngineReading[]): Map<string, EngineReading[]> {
  const byDevice = new Map<string, EngineReading[]>();
  for (const r of readings) {
    const list = byDevice.get(r.deviceId);
    if (list) list.push(r);
    else byDevice.set(r.deviceId, [r]);
  }
  for (const list of byDevice.values()) list.sort((a, b) => a.time - b.time);
  return byDevice;
}
