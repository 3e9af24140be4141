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

/** What the state remembers of the profile it was made with. */
export function rulesKey(p: Profile): string {
  return `${p.name}:${ruleIds(p).join(',')}`;
}

/** Clears the alarms of rules no longer in the profile; returns them and the pruned state. */
export async function retireRemovedRules(
  c: PoolClient,
  deviceId: string,
  profile: Profile,
  state: DeviceState,
): Promise<{ state: DeviceState; cleared: AlarmRow[] }> {
  const ids = ruleIds(profile);
  const { rows } = await c.query<AlarmRow>(
    `with a as (
       update alarm set state = 'cleared', cleared_at = now(),
                        detail = detail || '{"cleared_because": "rule_removed"}'::jsonb
       where device_id = $1 and state <> 'cleared' and not historical
         and rule_id <> all($2)
       returning *),
     act as (insert into alarm_action (alarm_id, action, by, comment)
             select id, 'cleared', 'system', 'the device''s profile no longer has this rule'
             from a)
     select ${ALARM_COLUMNS} from a`,
    [deviceId, ids],
  );
  const keep = new Set(ids);
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
  return { state: { ...state, sensors, rulesKey: rulesKey(profile) }, cleared: rows };
}
