/**
 * The rule state of devices (`alarm_device_state`), loaded with each device's profile
 * and locked for the transaction that evaluates their readings, then written back.
 * Rows are locked in device-id order so that concurrent engines never deadlock.
 */
import type { PoolClient } from '../db/pool.js';
import { deviceStateFromJson, type DeviceState } from './deviceState.js';
import {
  DEFAULT_PROFILE,
  parseRules,
  type Profile,
  type ProfileKind,
} from './profile.js';

export interface DeviceContext {
  deviceId: string;
  state: DeviceState;
  profile: Profile;
  /** The device's site (device registry), null when it has none. */
  site: string | null;
  /** When the device got its profile (its first message when it was never given one), ms. */
  assignedAt: number;
  evaluatedThrough: Date | null;
  /** The device has an offline alarm open (its next reading clears it). */
  offlineOpen: boolean;
}

interface Row {
  device_id: string;
  state: unknown;
  evaluated_through: Date | null;
  name: string;
  kind: ProfileKind;
  description: string;
  rules: unknown;
  builtin: boolean;
  assigned_at: Date | null;
  site: string | null;
  offline_open: boolean;
}

/** Locks (creating when missing) the state rows of `deviceIds` and loads their profiles. */
export async function lockDeviceStates(
  c: PoolClient,
  deviceIds: readonly string[],
): Promise<Map<string, DeviceContext>> {
  const ids = [...new Set(deviceIds)].sort();
  await c.query({
    name: 'alarm-state-ensure',
    text: `insert into alarm_device_state (device_id, state)
           select id, '{}'::jsonb from unnest($1::text[]) as u(id)
           on conflict (device_id) do nothing`,
    values: [ids],
  });
  const { rows } = await c.query<Row>({
    name: 'alarm-state-lock',
    text: `select s.device_id, s.state, s.evaluated_through, p.name, p.kind, p.description,
                  p.rules, p.builtin, d.site,
                  coalesce(dp.assigned_at, d.registered_at, d.first_seen_at) as assigned_at,
                  exists (select 1 from alarm a
                          where coalesce(a.device_id, '') = s.device_id and a.sensor = ''
                            and a.rule_id = 'offline' and a.state <> 'cleared'
                            and not a.historical) as offline_open
           from alarm_device_state s
           left join device_profile dp on dp.device_id = s.device_id
           join profile p on p.name = coalesce(dp.profile, $2)
           left join device d on d.device_id = s.device_id
           where s.device_id = any($1)
           order by s.device_id
           for update of s`,
    values: [ids, DEFAULT_PROFILE],
  });
  const profiles = new Map<string, Profile>();
  const out = new Map<string, DeviceContext>();
  for (const r of rows) {
    let profile = profiles.get(r.name);
    if (!profile) {
      profile = { ...r, rules: parseRules(r.rules) };
      profiles.set(r.name, profile);
    }
    out.set(r.device_id, {
      deviceId: r.device_id,
      state: deviceStateFromJson(r.state),
      profile,
      site: r.site,
      assignedAt: r.assigned_at?.getTime() ?? 0,
      evaluatedThrough: r.evaluated_through,
      offlineOpen: r.offline_open,
    });
  }
  return out;
}

/** Writes back the states; `evaluated_through` only ever moves forward. */
export async function saveDeviceStates(
  c: PoolClient,
  states: ReadonlyArray<{ deviceId: string; state: DeviceState; evaluatedThrough: Date }>,
): Promise<void> {
  if (states.length === 0) return;
  await c.query({
    name: 'alarm-state-save',
    text: `update alarm_device_state s
           set state = u.state, updated_at = now(),
               evaluated_through = greatest(s.evaluated_through, u.through)
           from unnest($1::text[], $2::jsonb[], $3::timestamptz[]) as u(id, state, through)
           where s.device_id = u.id`,
    values: [
      states.map((s) => s.deviceId),
      states.map((s) => JSON.stringify(s.state)),
      states.map((s) => s.evaluatedThrough),
    ],
  });
}
