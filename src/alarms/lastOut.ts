/**
 * A device that falls silent while its readings are out of range: nobody can see
 * whether the goods are still warm, and the excursion alarm may never come (its
 * duration is reached by a reading, and none arrives). So the offline alarm says so:
 * which excursion was going on, since when, and its peak, and it is as severe as
 * the excursion rule (critical for the built-in heat and freeze rules) instead of a
 * warning.
 *
 * Read from the device's live rule state: an excursion rule whose run out of range
 * has begun (`outSince`) and not ended at the device's last valid reading.
 */
import type { PoolClient } from '../db/pool.js';
import { deviceStateFromJson } from './deviceState.js';
import type { AlarmSeverity } from './events.js';
import {
  DEFAULT_PROFILE,
  parseRules,
  type ExcursionRule,
  type ProfileRules,
} from './profile.js';
import { formatTime } from './summary.js';

/** An excursion going on when the device fell silent. Times in ms. */
export interface LastOut {
  sensor: string;
  rule: ExcursionRule;
  since: number;
  /** The last valid reading, out of range. */
  lastAt: number | null;
  peak: number | null;
}

const RANK: Record<AlarmSeverity, number> = { info: 0, warning: 1, critical: 2 };

/** The excursions going on at the last reading of each of these devices (those with any). */
export async function lastOutOfRange(
  c: PoolClient,
  deviceIds: readonly string[],
): Promise<Map<string, LastOut[]>> {
  const out = new Map<string, LastOut[]>();
  if (deviceIds.length === 0) return out;
  const { rows } = await c.query<{
    device_id: string;
    state: unknown;
    name: string;
    rules: unknown;
  }>(
    `select s.device_id, s.state, p.name, p.rules
     from alarm_device_state s
     left join device_profile dp on dp.device_id = s.device_id
     join profile p on p.name = coalesce(dp.profile, $2)
     where s.device_id = any($1)`,
    [deviceIds, DEFAULT_PROFILE],
  );
  const parsed = new Map<string, ProfileRules | null>();
  for (const r of rows) {
    if (!parsed.has(r.name)) parsed.set(r.name, rulesOrNull(r.rules));
    const rules = parsed.get(r.name);
    if (!rules) continue;
    const found = ongoing(rules, r.state);
    if (found.length > 0) out.set(r.device_id, found);
  }
  return out;
}

function rulesOrNull(json: unknown): ProfileRules | null {
  try {
    return parseRules(json);
  } catch {
    return null;
  }
}

function ongoing(rules: ProfileRules, json: unknown): LastOut[] {
  const state = deviceStateFromJson(json);
  const found: LastOut[] = [];
  for (const [sensor, s] of Object.entries(state.sensors)) {
    for (const rule of rules.excursions) {
      const e = s.excursions[rule.id];
      if (!e || e.outSince === null) continue;
      found.push({ sensor, rule, since: e.outSince, lastAt: e.lastAt, peak: e.peak });
    }
  }
  // The most severe first, then the longest going.
  return found.sort(
    (a, b) => RANK[b.rule.severity] - RANK[a.rule.severity] || a.since - b.since,
  );
}

/** The severity of the offline alarm: the excursion's when more severe than a warning. */
export function offlineSeverity(outs: readonly LastOut[]): AlarmSeverity {
  const top = outs[0]?.rule.severity;
  return top && RANK[top] > RANK.warning ? top : 'warning';
}

/** What the offline alarm's summary adds: the excursion going on, e.g. "… at or above 8.0 °C since …". */
export function lastOutText(outs: readonly LastOut[]): string {
  const o = outs[0];
  if (!o) return '';
  const side = o.rule.direction === 'high' ? 'or above' : 'or below';
  const where = o.sensor === '' ? '' : ` (${o.sensor})`;
  const peak = o.peak === null ? '' : `, peak ${o.peak.toFixed(1)} °C`;
  return (
    `; its last readings${where} were out of range: at ${side} ${o.rule.raiseAt.toFixed(1)} °C ` +
    `since ${formatTime(o.since, 'UTC')}${peak}`
  );
}

/** The same for the alarm's detail (the API and the notices show it). */
export function lastOutDetail(outs: readonly LastOut[]): Array<Record<string, unknown>> {
  return outs.map((o) => ({
    sensor: o.sensor,
    rule_id: o.rule.id,
    direction: o.rule.direction,
    limit: o.rule.raiseAt,
    since: new Date(o.since).toISOString(),
    last_reading_at: o.lastAt === null ? null : new Date(o.lastAt).toISOString(),
    peak: o.peak,
  }));
}
