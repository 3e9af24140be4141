/**
 * A device's profile changed (another profile, or rules added or removed): the live
 * alarms of rules it no longer has are cleared, and their state is forgotten, so that
 * a rule added back later starts afresh. Found by comparing the rule ids the state
 * was made with to the profile's.
 */
import type { PoolClient } from '../db/pool.js';
import { ALARM_COLUMNS, type AlarmRow } from './alarmStore.js';
import type { DeviceState, SensorState } from './deviceState.js';
import type { Profile } from './profile.js';

/** The ids of the rules a profile has. */
export function ruleIds(p: Profile): string[] {
  const r = p.rules;
  return [
    ...r.excursions.map((x) => x.id),
    ...r.cumulative.map((x) => x.id),
    ...(r.sensorFault ? ['sensor_fault'] : []),
    ...(r.offline ? ['offline'] : []),
    ...(r.lowBattery ? ['low_battery'] : []),
  ].sort();
}

const keys = new WeakMap<Profile, string>();

/** What the state remembers of the profile it was made with. */
export function rulesKey(p: Profile): string {
  let key = keys.get(p);
  if (key === undefined) {
    key = `${p.name}:${ruleIds(p).join(',')}`;
    keys.set(p, key);
  }
  return key;
}

/** A device whose state was made with other rules than its profile has now. */
export interface RuleChange {
  deviceId: string;
  profile: Profile;
  state: DeviceState;
}

/**
 * Clears, in one statement for all the devices, the live alarms of rules their
 * profiles no longer have; returns them and each device's pruned state.
 */
export async function retireRemovedRules(
  c: PoolClient,
  changed: readonly RuleChange[],
): Promise<{ states: Map<string, DeviceState>; cleared: AlarmRow[] }> {
  const states = new Map<string, DeviceState>();
  if (changed.length === 0) return { states, cleared: [] };
  // Rule ids are a-z, 0-9 and _ (profileCheck.ts): a comma never occurs in one.
  const { rows } = await c.query<AlarmRow>(
    `with u as (select * from unnest($1::text[], $2::text[]) as u(device_id, keep)),
     a as (
       update alarm al set state = 'cleared', cleared_at = now(),
                           detail = al.detail || '{"cleared_because": "rule_removed"}'::jsonb
       from u
       where coalesce(al.device_id, '') = u.device_id
         and al.state <> 'cleared' and not al.historical
         and al.rule_id <> all(string_to_array(u.keep, ','))
       returning al.*),
     act as (insert into alarm_action (alarm_id, action, by, comment)
             select id, 'cleared', 'system', 'the device''s profile no longer has this rule'
             from a order by id)
     select ${ALARM_COLUMNS} from a order by device_id, id`,
    [changed.map((d) => d.deviceId), changed.map((d) => ruleIds(d.profile).join(','))],
  );
  for (const d of changed) states.set(d.deviceId, pruned(d.profile, d.state));
  return { states, cleared: rows };
}

/** The state without the rules the profile no longer has, marked with its rules. */
function pruned(profile: Profile, state: DeviceState): DeviceState {
  const keep = new Set(ruleIds(profile));
  const prune = <T>(o: Record<string, T>): Record<string, T> =>
    Object.fromEntries(Object.entries(o).filter(([id]) => keep.has(id)));
  const sensors: Record<string, SensorState> = {};
  for (const [name, s] of Object.entries(state.sensors)) {
    sensors[name] = {
      ...s,
      excursions: prune(s.excursions),
      cumulative: prune(s.cumulative),
    };
  }
  return { ...state, sensors, rulesKey: rulesKey(profile) };
}
