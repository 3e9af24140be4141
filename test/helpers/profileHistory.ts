import { parseRules, rulesToJson } from '../../src/alarms/profile.js';
import { profileToJson } from '../../src/alarms/profileStore.js';
import type { Pool } from '../../src/db/pool.js';

/**
 * Gives a device its profile as the profile store does (the assignment and its line in
 * the change log), dated `at`: for a story whose readings are in the past, as if the
 * change had been made then. The log itself is append-only and dated by the server.
 */
export async function assignProfileAt(
  pool: Pool,
  deviceId: string,
  profile: string,
  at: Date,
  by = 'qm.anna',
): Promise<void> {
  const { rows } = await pool.query<{ profile: string; assigned_at: Date }>(
    'select profile, assigned_at from device_profile where device_id = $1',
    [deviceId],
  );
  await pool.query(
    `insert into device_profile (device_id, profile, assigned_at, assigned_by)
     values ($1, $2, $3, $4)
     on conflict (device_id) do update set profile = excluded.profile,
       assigned_at = excluded.assigned_at, assigned_by = excluded.assigned_by`,
    [deviceId, profile, at, by],
  );
  const old = {
    profile: rows[0]?.profile ?? 'vaccine_fridge',
    assigned_at: rows[0]?.assigned_at ?? null,
  };
  await pool.query(
    `insert into profile_change (at, by, subject, profile, device_id, old, new)
     values ($1, $2, 'device', $3, $4, $5, $6)`,
    [at, by, profile, deviceId, old, { profile }],
  );
}

/**
 * Writes the versions of a custom profile as the profile store does, each dated in the
 * change log; the last one is the profile's rules now.
 */
export async function profileVersionsAt(
  pool: Pool,
  name: string,
  versions: ReadonlyArray<{ at: Date; rules: unknown }>,
  by = 'qm.anna',
): Promise<void> {
  let old: Record<string, unknown> | null = null;
  for (const v of versions) {
    const rules = parseRules(v.rules);
    await pool.query(
      `insert into profile (name, kind, description, rules, updated_by)
       values ($1, 'custom', '', $2, $3)
       on conflict (name) do update set rules = excluded.rules, updated_by = excluded.updated_by`,
      [name, rulesToJson(rules), by],
    );
    const json = profileToJson({
      name,
      kind: 'custom',
      description: '',
      builtin: false,
      rules,
    });
    await pool.query(
      `insert into profile_change (at, by, subject, profile, old, new)
       values ($1, $2, 'profile', $3, $4, $5)`,
      [v.at, by, name, old, json],
    );
    old = json;
  }
}
