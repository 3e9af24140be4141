/**
 * Profiles and the profile of each device, in PostgreSQL. Every change is written
 * with who made it, when, and the old and new values (`profile_change`), in the
 * same transaction as the change itself.
 */
import { transaction, type Pool, type PoolClient } from '../db/pool.js';
import {
  DEFAULT_PROFILE,
  parseRules,
  rulesToJson,
  type Profile,
  type ProfileKind,
} from './profile.js';

type Db = Pick<Pool | PoolClient, 'query'>;

interface ProfileDbRow {
  name: string;
  kind: ProfileKind;
  description: string;
  rules: unknown;
  builtin: boolean;
}

function toProfile(row: ProfileDbRow): Profile {
  return { ...row, rules: parseRules(row.rules) };
}

const PROFILE_COLUMNS = 'name, kind, description, rules, builtin';

export async function listProfiles(db: Db): Promise<Profile[]> {
  const { rows } = await db.query<ProfileDbRow>(
    `select ${PROFILE_COLUMNS} from profile order by name`,
  );
  return rows.map(toProfile);
}

export async function getProfile(db: Db, name: string): Promise<Profile | undefined> {
  const { rows } = await db.query<ProfileDbRow>(
    `select ${PROFILE_COLUMNS} from profile where name = $1`,
    [name],
  );
  return rows[0] && toProfile(rows[0]);
}

/** The JSON of a profile as the API and the change log show it. */
export function profileToJson(p: Profile): Record<string, unknown> {
  return {
    name: p.name,
    kind: p.kind,
    description: p.description,
    builtin: p.builtin,
    rules: rulesToJson(p.rules),
  };
}

export interface ProfileInput {
  name: string;
  kind: ProfileKind;
  description: string;
  /** Already checked with parseRules. */
  rules: Profile['rules'];
}

/** Creates or replaces a profile; returns it and whether it was new. */
export async function putProfile(
  pool: Pool,
  input: ProfileInput,
  by: string,
  comment: string | null,
): Promise<{ profile: Profile; created: boolean }> {
  return transaction(pool, async (c) => {
    const { rows } = await c.query<ProfileDbRow>(
      `select ${PROFILE_COLUMNS} from profile where name = $1 for update`,
      [input.name],
    );
    const old = rows[0] && toProfile(rows[0]);
    const profile: Profile = { ...input, builtin: old?.builtin ?? false };
    await c.query(
      `insert into profile (name, kind, description, rules, updated_by)
       values ($1, $2, $3, $4, $5)
       on conflict (name) do update set kind = excluded.kind,
         description = excluded.description, rules = excluded.rules,
         updated_at = now(), updated_by = excluded.updated_by`,
      [input.name, input.kind, input.description, rulesToJson(input.rules), by],
    );
    await c.query(
      `insert into profile_change (by, subject, profile, old, new, comment)
       values ($1, 'profile', $2, $3, $4, $5)`,
      [by, input.name, old ? profileToJson(old) : null, profileToJson(profile), comment],
    );
    return { profile, created: old === undefined };
  });
}

/** A device's profile; `assigned` is null for a device on the default profile. */
export interface DeviceProfile {
  deviceId: string;
  profile: Profile;
  assigned: { at: Date; by: string } | null;
}

export async function getDeviceProfile(
  db: Db,
  deviceId: string,
): Promise<DeviceProfile | undefined> {
  const { rows } = await db.query<
    ProfileDbRow & { assigned_at: Date | null; assigned_by: string | null }
  >(
    `select p.name, p.kind, p.description, p.rules, p.builtin, dp.assigned_at, dp.assigned_by
     from (select $1::text as device_id) d
     left join device_profile dp on dp.device_id = d.device_id
     join profile p on p.name = coalesce(dp.profile, $2)`,
    [deviceId, DEFAULT_PROFILE],
  );
  const row = rows[0];
  if (!row) return undefined;
  const assigned =
    row.assigned_at && row.assigned_by
      ? { at: row.assigned_at, by: row.assigned_by }
      : null;
  return { deviceId, profile: toProfile(row), assigned };
}

export type SetProfileOutcome =
  | { outcome: 'set'; previous: string; current: DeviceProfile }
  | { outcome: 'no_such_profile' };

/** Gives a device a profile (the device need not have reported yet). */
export async function setDeviceProfile(
  pool: Pool,
  deviceId: string,
  profileName: string,
  by: string,
  comment: string | null,
): Promise<SetProfileOutcome> {
  return transaction(pool, async (c) => {
    if (!(await getProfile(c, profileName)))
      return { outcome: 'no_such_profile' as const };
    const { rows } = await c.query<{ profile: string; assigned_at: Date }>(
      'select profile, assigned_at from device_profile where device_id = $1 for update',
      [deviceId],
    );
    const old = rows[0];
    await c.query(
      `insert into device_profile (device_id, profile, assigned_at, assigned_by)
       values ($1, $2, now(), $3)
       on conflict (device_id) do update set profile = excluded.profile,
         assigned_at = excluded.assigned_at, assigned_by = excluded.assigned_by`,
      [deviceId, profileName, by],
    );
    await c.query(
      `insert into profile_change (by, subject, profile, device_id, old, new, comment)
       values ($1, 'device', $2, $3, $4, $5, $6)`,
      [
        by,
        profileName,
        deviceId,
        {
          profile: old?.profile ?? DEFAULT_PROFILE,
          assigned_at: old?.assigned_at ?? null,
        },
        { profile: profileName },
        comment,
      ],
    );
    const current = (await getDeviceProfile(c, deviceId))!;
    return {
      outcome: 'set' as const,
      previous: old?.profile ?? DEFAULT_PROFILE,
      current,
    };
  });
}

/** One recorded change of a profile or of a device's profile. */
export interface ProfileChangeRow {
  id: string;
  at: Date;
  by: string;
  subject: 'profile' | 'device';
  profile: string;
  device_id: string | null;
  old: unknown;
  new: unknown;
  comment: string | null;
}

/** The changes of one device's profile, or of one profile's rules, oldest first. */
export async function listProfileChanges(
  db: Db,
  of: { deviceId: string } | { profile: string },
): Promise<ProfileChangeRow[]> {
  const [where, value] =
    'deviceId' in of
      ? ['device_id = $1', of.deviceId]
      : [`subject = 'profile' and profile = $1`, of.profile];
  const { rows } = await db.query<ProfileChangeRow>(
    `select id::text, at, by, subject, profile, device_id, old, new, comment
     from profile_change where ${where} order by at, id`,
    [value],
  );
  return rows;
}
