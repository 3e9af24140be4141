/**
 * Which profile a device had, with which rules, at each moment of a stretch of time:
 * reports judge a past day by the range in force on that day, not by today's.
 *
 * Built from the change log (`profile_change`): the device's changes say from when it
 * had which profile (before the first, the one that change replaced), and each
 * profile's changes say from when its rules were which (before the first, the rules
 * that change replaced). Without changes, the current profile and rules held all
 * along. Times before the device first reported (readings kept by a logger and loaded
 * afterwards) take the profile it had when it first reported. A logged version whose
 * rules no longer parse (a form since retired) is replaced by the profile's current
 * rules.
 */
import type { Pool } from '../db/pool.js';
import { getDeviceProfile, getProfile } from '../alarms/profileStore.js';
import { parseRules, type Profile } from '../alarms/profile.js';

/** A profile in force over [from, to), times in ms. */
export interface ProfilePeriod {
  from: number;
  to: number;
  profile: Profile;
}

interface ChangeRow {
  at: Date;
  profile: string;
  old: Record<string, unknown> | null;
  new: Record<string, unknown>;
}

/** The periods covering [from, to), in order; empty when the device's profile is unknown. */
export async function profilePeriods(
  pool: Pool,
  deviceId: string,
  from: number,
  to: number,
): Promise<ProfilePeriod[]> {
  const current = await getDeviceProfile(pool, deviceId);
  if (!current) return [];
  const assigned = await assignments(pool, deviceId, current.profile.name);
  const between = async (a: number, b: number): Promise<ProfilePeriod[]> => {
    const out: ProfilePeriod[] = [];
    for (const s of clip(assigned, a, b)) {
      for (const v of clip(await ruleVersions(pool, s.value), s.from, s.to))
        out.push({ from: v.from, to: v.to, profile: v.value });
    }
    return out;
  };
  // Readings from before the device first reported (a logger's history loaded
  // later) are judged by the profile it had when it did.
  const first = await firstSeen(pool, deviceId);
  if (first === null || from >= first) return merged(await between(from, to));
  const then = (await between(first, first + 1))[0]?.profile ?? current.profile;
  return merged([
    { from, to: Math.min(first, to), profile: then },
    ...(to > first ? await between(first, to) : []),
  ]);
}

/** Consecutive periods of the same profile with the same rules made one. */
function merged(periods: readonly ProfilePeriod[]): ProfilePeriod[] {
  const out: ProfilePeriod[] = [];
  for (const p of periods) {
    const last = out.at(-1);
    const same =
      last !== undefined &&
      last.to === p.from &&
      last.profile.name === p.profile.name &&
      JSON.stringify(last.profile.rules) === JSON.stringify(p.profile.rules);
    if (same) last.to = p.to;
    else out.push({ ...p });
  }
  return out;
}

async function firstSeen(pool: Pool, deviceId: string): Promise<number | null> {
  const { rows } = await pool.query<{ first_seen_at: Date | null }>(
    'select first_seen_at from device where device_id = $1',
    [deviceId],
  );
  return rows[0]?.first_seen_at?.getTime() ?? null;
}

interface Span<T> {
  from: number;
  to: number;
  value: T;
}

function clip<T>(spans: ReadonlyArray<Span<T>>, from: number, to: number): Span<T>[] {
  return spans
    .map((s) => ({ ...s, from: Math.max(s.from, from), to: Math.min(s.to, to) }))
    .filter((s) => s.to > s.from);
}

/** The device's profile names over all time. */
async function assignments(
  pool: Pool,
  deviceId: string,
  current: string,
): Promise<Span<string>[]> {
  const { rows } = await pool.query<ChangeRow>(
    `select at, profile, old, new from profile_change
     where subject = 'device' and device_id = $1 order by at, id`,
    [deviceId],
  );
  if (rows.length === 0) return [{ from: -Infinity, to: Infinity, value: current }];
  const first = rows[0]!;
  const before = typeof first.old?.profile === 'string' ? first.old.profile : current;
  return spansOf(
    before,
    rows.map((r) => ({ at: r.at.getTime(), value: r.profile })),
  );
}

/** A profile's rules over all time. */
async function ruleVersions(pool: Pool, name: string): Promise<Span<Profile>[]> {
  const current = await getProfile(pool, name);
  if (!current) return [];
  const { rows } = await pool.query<ChangeRow>(
    `select at, profile, old, new from profile_change
     where subject = 'profile' and profile = $1 order by at, id`,
    [name],
  );
  if (rows.length === 0) return [{ from: -Infinity, to: Infinity, value: current }];
  const version = (json: Record<string, unknown> | null): Profile => {
    if (json === null) return current;
    try {
      return { ...current, rules: parseRules(json.rules) };
    } catch {
      return current;
    }
  };
  return spansOf(
    version(rows[0]!.old),
    rows.map((r) => ({ at: r.at.getTime(), value: version(r.new) })),
  );
}

/** Spans from a value before the first change and the value each change brought. */
function spansOf<T>(
  before: T,
  changes: ReadonlyArray<{ at: number; value: T }>,
): Span<T>[] {
  const spans: Span<T>[] = [];
  let from = -Infinity;
  let value = before;
  for (const c of changes) {
    if (c.at > from) spans.push({ from, to: c.at, value });
    from = c.at;
    value = c.value;
  }
  spans.push({ from, to: Infinity, value });
  return spans;
}
