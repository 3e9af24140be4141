import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../alarms/input.js';
import { getProfile, setDeviceProfile } from '../../alarms/profileStore.js';
import { provisioningDirs } from '../../broker/dirs.js';
import {
  generatePassword,
  removePassword,
  setPassword,
} from '../../broker/passwordFile.js';
import { loadEnv } from '../../config/env.js';
import { listDevices } from '../../db/devices.js';
import type { Pool } from '../../db/pool.js';
import {
  parseFingerprint,
  registrableId,
  type Registration,
} from '../../devices/registration.js';
import {
  getRegistration,
  registerDevice,
  updateDevice,
} from '../../devices/registryStore.js';
import { issueDevice } from '../../pki/issue.js';
import { PkiStore } from '../../pki/store.js';
import { pickCommand, type ValuesOf, withDatabase } from '../subcommand.js';

const USAGE = `heru device <command> [options]

  add <id> [--site <site>] [--profile <profile>] [--cert | --password | --fingerprint <sha256>]
                      register a device. --cert issues its client certificate (heru pki);
                      --password makes a password, stores its hash in the broker's password
                      file and prints it once (--password-file <file> takes yours instead)
  password <id>       a new password for a device (--password-file <file> to give it);
                      --remove takes it out of the password file
  list [--json]       every device: registry fields, last message, counts
  disable <id>        its messages are quarantined (DEVICE_DISABLED) from now on
  enable <id>         its messages are stored again

Every change takes --by <who> (default: your login name) and may take --comment.
Options: --pki-dir (HERU_PKI_DIR), --passwords <file> (default HERU_BROKER_DIR/passwords).
After a password change, reload the broker (SIGHUP). See docs/devices.md.`;

const OPTIONS = {
  site: { type: 'string' },
  profile: { type: 'string' },
  cert: { type: 'boolean' },
  password: { type: 'boolean' },
  'password-file': { type: 'string' },
  fingerprint: { type: 'string' },
  passwords: { type: 'string' },
  'pki-dir': { type: 'string' },
  by: { type: 'string' },
  comment: { type: 'string' },
  json: { type: 'boolean' },
  remove: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ValuesOf<typeof OPTIONS>;

type Command = (pool: Pool, args: string[], v: Values) => Promise<void>;

const COMMANDS: Record<string, Command> = {
  add,
  async password(pool, args, v) {
    const id = need(args[0]);
    const row = await getRegistration(pool, id);
    if (v.remove) return removeDevicePassword(id, v);
    if (!row?.registered_at)
      throw new Error(
        `device ${id} is not registered; use \`heru device add ${id} --password\``,
      );
    await storePassword(id, v);
    if (row.credentials !== 'password')
      await updateDevice(pool, id, {
        fields: { credentials: 'password' },
        by: by(v),
        comment: v.comment ?? null,
      });
  },
  async list(pool, _args, v) {
    const devices = await listDevices(pool);
    if (v.json) return void console.log(JSON.stringify(devices, null, 2));
    for (const d of devices) {
      const registered = d.registered_at ? (d.credentials ?? '') : 'unregistered';
      const seen = d.last_seen_at?.toISOString() ?? 'never';
      console.log(
        `${d.device_id.padEnd(24)} ${d.status.padEnd(8)} ${registered.padEnd(12)} ${(d.site ?? '-').padEnd(20)} last seen ${seen}`,
      );
    }
  },
  disable: (pool, args, v) => setStatus(pool, need(args[0]), 'disabled', v),
  enable: (pool, args, v) => setStatus(pool, need(args[0]), 'active', v),
};

/** `heru device …`: the device registry. */
export async function runDevice(args: string[]): Promise<void> {
  const picked = pickCommand(args, OPTIONS, COMMANDS, USAGE);
  if (!picked) return;
  const { name, rest, values } = picked;
  try {
    await withDatabase((pool) => COMMANDS[name]!(pool, rest, values));
  } catch (err) {
    if (err instanceof InputError) throw new Error(err.message);
    throw err;
  }
}

async function add(pool: Pool, args: string[], v: Values): Promise<void> {
  const id = registrableId(need(args[0]));
  const kinds = [v.cert, v.password || v['password-file'] !== undefined, v.fingerprint];
  if (kinds.filter(Boolean).length > 1)
    throw new Error('give one of --cert, --password (or --password-file), --fingerprint');
  if ((await getRegistration(pool, id))?.registered_at)
    throw new Error(`device ${id} is already registered; see \`heru device list\``);
  if (v.profile !== undefined && !(await getProfile(pool, v.profile)))
    throw new Error(
      `no profile ${JSON.stringify(v.profile)}; \`heru profile list\` shows them`,
    );

  const r: Registration = {
    deviceId: id,
    fields: { credentials: 'none' },
    by: by(v),
    comment: v.comment ?? null,
  };
  if (v.site !== undefined) r.fields.site = v.site;
  if (v.fingerprint !== undefined) {
    r.fields.credentials = 'certificate';
    r.fields.certFingerprint = parseFingerprint(v.fingerprint);
  }
  if (v.cert) {
    const store = new PkiStore(v['pki-dir'] ?? provisioningDirs(loadEnv()).pkiDir);
    const issued = await issueDevice(store, id);
    r.fields.credentials = 'certificate';
    r.fields.certFingerprint = issued.entry.fingerprint;
    console.log(
      `certificate: ${issued.certFile}\nkey:         ${issued.keyFile} (mode 0600)`,
    );
  }
  if (v.password || v['password-file'] !== undefined) {
    await storePassword(id, v);
    r.fields.credentials = 'password';
  }
  const result = await registerDevice(pool, r);
  if (result.outcome !== 'registered')
    throw new Error(`device ${id} is already registered`);
  if (v.profile !== undefined)
    await setDeviceProfile(pool, id, v.profile, r.by, r.comment);
  const row = result.row;
  console.log(
    `registered ${id}: ${row.status}, credentials ${row.credentials}${row.site ? `, site ${row.site}` : ''}`,
  );
}

/** Writes the password's hash to the broker's file; prints a generated one, once. */
async function storePassword(id: string, v: Values): Promise<void> {
  const file = passwordsFile(v);
  const given = v['password-file'];
  const password = given === undefined ? generatePassword() : readPassword(given);
  await setPassword(file, id, password);
  console.log(`password file: ${file} (reload the broker to take it)`);
  if (given === undefined)
    console.log(`password (shown once, store it in the device): ${password}`);
}

async function removeDevicePassword(id: string, v: Values): Promise<void> {
  const file = passwordsFile(v);
  const removed = await removePassword(file, id);
  console.log(
    removed
      ? `${id} removed from ${file} (reload the broker to take it)`
      : `${id} has no password in ${file}`,
  );
}

function passwordsFile(v: Values): string {
  return v.passwords ?? join(provisioningDirs(loadEnv()).brokerDir, 'passwords');
}

function readPassword(file: string): string {
  const first = readFileSync(file, 'utf8').split('\n')[0]!.trim();
  if (first.length < 12)
    throw new Error(`the password in ${file} must be at least 12 characters`);
  return first;
}

async function setStatus(
  pool: Pool,
  id: string,
  status: 'active' | 'disabled',
  v: Values,
): Promise<void> {
  const row = await updateDevice(pool, id, {
    fields: { status },
    by: by(v),
    comment: v.comment ?? null,
  });
  if (!row)
    throw new Error(`no device ${JSON.stringify(id)}; \`heru device list\` shows them`);
  console.log(`${id}: ${row.status}`);
}

function need(id: string | undefined): string {
  if (id === undefined) throw new Error('name the device: heru device <command> <id>');
  return id;
}

function by(v: Values): string {
  return v.by ?? userInfo().username;
}
