import { readFileSync } from 'node:fs';
import {
  ProfileError,
  PROFILE_KINDS,
  parseRules,
  type ProfileKind,
} from '../../alarms/profile.js';
import {
  getDeviceProfile,
  getProfile,
  listProfileChanges,
  listProfiles,
  profileToJson,
  putProfile,
  setDeviceProfile,
} from '../../alarms/profileStore.js';
import type { Pool } from '../../db/pool.js';
import { pickCommand, type ValuesOf, withDatabase } from '../subcommand.js';

const USAGE = `heru profile <command>

  list                                   the profiles, one a line
  show <profile>                         a profile and its rules (JSON)
  put <profile> --file <rules.json> --by <who> [--kind custom] [--description <text>]
                                         create or replace a profile; the file holds its rules
  get <device>                           the profile of a device (vaccine_fridge unless set)
  set <device> <profile> --by <who>      give a device a profile (it need not have reported)
  history <device>                       who changed the device's profile, when, from what

Every change takes --by (who makes it) and may take --comment; it is recorded.
Profiles and rules are described in docs/alarms.md.`;

const OPTIONS = {
  by: { type: 'string' },
  comment: { type: 'string' },
  file: { type: 'string' },
  kind: { type: 'string' },
  description: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ValuesOf<typeof OPTIONS>;

/** `heru profile …`: profiles and the profile of each device, in the database. */
export async function runProfile(args: string[]): Promise<void> {
  const picked = pickCommand(args, OPTIONS, COMMANDS, USAGE);
  if (!picked) return;
  const { name, rest, values } = picked;
  try {
    await withDatabase((pool) => COMMANDS[name]!(pool, rest, values));
  } catch (err) {
    if (err instanceof ProfileError) throw new Error(err.problems.join('\n  '));
    throw err;
  }
}

type Command = (pool: Pool, args: string[], values: Values) => Promise<void>;

const COMMANDS: Record<string, Command> = {
  async list(pool) {
    for (const p of await listProfiles(pool)) {
      console.log(`${p.name.padEnd(24)} ${p.kind.padEnd(16)} ${p.description}`);
    }
  },

  async show(pool, [name]) {
    const p = await getProfile(pool, need(name, 'a profile name'));
    if (!p) throw new Error(`No profile ${JSON.stringify(name)}; see heru profile list.`);
    print(profileToJson(p));
  },

  async put(pool, [name], v) {
    const rules = parseRules(
      JSON.parse(readFileSync(need(v.file, '--file <rules.json>'), 'utf8')),
    );
    const kind = v.kind ?? 'custom';
    if (!(PROFILE_KINDS as readonly string[]).includes(kind)) {
      throw new Error(`--kind must be one of ${PROFILE_KINDS.join(', ')}.`);
    }
    const input = {
      name: need(name, 'a profile name'),
      kind: kind as ProfileKind,
      description: v.description ?? '',
      rules,
    };
    const { created } = await putProfile(
      pool,
      input,
      need(v.by, '--by <who>'),
      v.comment ?? null,
    );
    console.log(`${created ? 'created' : 'replaced'} profile ${input.name}`);
  },

  async get(pool, [device]) {
    const dp = (await getDeviceProfile(pool, need(device, 'a device id')))!;
    print({
      device_id: dp.deviceId,
      profile: dp.profile.name,
      assigned_at: dp.assigned?.at ?? null,
      assigned_by: dp.assigned?.by ?? null,
    });
  },

  async set(pool, [device, profile], v) {
    const id = need(device, 'a device id');
    const name = need(profile, 'a profile name');
    const result = await setDeviceProfile(
      pool,
      id,
      name,
      need(v.by, '--by <who>'),
      v.comment ?? null,
    );
    if (result.outcome === 'no_such_profile') {
      throw new Error(`No profile ${JSON.stringify(name)}; see heru profile list.`);
    }
    console.log(`${id}: ${result.previous} -> ${name}`);
  },

  async history(pool, [device]) {
    for (const c of await listProfileChanges(pool, {
      deviceId: need(device, 'a device id'),
    })) {
      const from = (c.old as { profile?: string } | null)?.profile ?? '-';
      const to = (c.new as { profile?: string }).profile ?? '-';
      console.log(
        `${c.at.toISOString()} ${c.by}: ${from} -> ${to}${c.comment ? ` (${c.comment})` : ''}`,
      );
    }
  },
};

function need(v: string | undefined, what: string): string {
  if (v === undefined || v === '') throw new Error(`missing ${what}\n\n${USAGE}`);
  return v;
}

function print(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
