import { provisioningDirs } from '../../broker/dirs.js';
import { loadEnv } from '../../config/env.js';
import {
  REVOCATION_REASONS,
  revoke,
  writeCrl,
  type RevocationReason,
} from '../../pki/crl.js';
import { listExpiring } from '../../pki/expiring.js';
import {
  createCa,
  issueDevice,
  issueIngest,
  issueServer,
  type Issued,
} from '../../pki/issue.js';
import { PkiError, PkiStore } from '../../pki/store.js';
import { pickCommand, type ValuesOf } from '../subcommand.js';

const USAGE = `heru pki <command> [options]

  ca create [--name <CN>] [--days 3650] [--force]
                       the fleet's certificate authority (and an empty CRL)
  server --dns <name> … --ip <address> … [--days 825]
                       the broker's certificate, for every name and address devices use
  device <id> [--days 1825] [--force]
                       a device's client certificate; its common name is the device id
  ingest [--name heru-ingest] [--days 825]
                       the server's own client certificate (MQTT_CERT_FILE, MQTT_KEY_FILE)
  revoke <device-id | serial> [--reason ${REVOCATION_REASONS.join('|')}]
                       revoke and rewrite crl.pem; then reload the broker (SIGHUP)
  crl                  sign crl.pem again (it is valid for a year)
  expiring --days <n> [--json]
                       certificates (and the CRL) that end within n days, expired ones too
  list [--json]        every certificate issued

Files live in --dir, default HERU_PKI_DIR or ./.heru/pki. Private keys are written
with mode 0600 and never printed. See docs/devices.md.`;

const OPTIONS = {
  dir: { type: 'string' },
  name: { type: 'string' },
  days: { type: 'string' },
  dns: { type: 'string', multiple: true },
  ip: { type: 'string', multiple: true },
  reason: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ValuesOf<typeof OPTIONS>;

type Command = (store: PkiStore, args: string[], v: Values) => Promise<void>;

const COMMANDS: Record<string, Command> = {
  async ca(store, args, v) {
    if (args[0] !== 'create') throw new PkiError('say `heru pki ca create`');
    const opts = { force: v.force === true, ...(v.name ? { name: v.name } : {}) };
    printIssued('CA', await createCa(store, { ...opts, ...days(v) }));
    console.log(`crl: ${store.crl}`);
  },
  async server(store, _args, v) {
    const names = [...(v.dns ?? []), ...(v.ip ?? [])];
    printIssued('broker', await issueServer(store, { names, ...days(v) }));
  },
  async device(store, args, v) {
    const id = args[0];
    if (id === undefined) throw new PkiError('name the device: `heru pki device <id>`');
    printIssued(
      `device ${id}`,
      await issueDevice(store, id, { force: v.force === true, ...days(v) }),
    );
  },
  async ingest(store, _args, v) {
    printIssued(
      'ingest',
      await issueIngest(store, { name: v.name ?? 'heru-ingest', ...days(v) }),
    );
  },
  async revoke(store, args, v) {
    const which = args[0];
    if (which === undefined) throw new PkiError('name a device id or a serial number');
    const reason = (v.reason ?? 'unspecified') as RevocationReason;
    if (!REVOCATION_REASONS.includes(reason))
      throw new PkiError(`--reason must be one of ${REVOCATION_REASONS.join(', ')}`);
    for (const e of await revoke(store, which, reason))
      console.log(`revoked ${e.kind} ${e.name} serial ${e.serial}`);
    console.log(
      `crl: ${store.crl}\nReload the broker so that it reads the new CRL (SIGHUP, or \`systemctl reload mosquitto\`).`,
    );
  },
  async crl(store) {
    const crl = await writeCrl(store);
    console.log(
      `crl: ${store.crl} (next update ${crl.nextUpdate?.toISOString() ?? 'none'})`,
    );
  },
  async expiring(store, _args, v) {
    if (v.days === undefined) throw new PkiError('say within how many days: --days <n>');
    const list = await listExpiring(store, positive(v.days));
    if (v.json) return void console.log(JSON.stringify(list, null, 2));
    if (list.length === 0) console.log(`nothing ends within ${v.days} days`);
    for (const e of list) {
      const when =
        e.daysLeft < 0 ? `EXPIRED ${-e.daysLeft} days ago` : `${e.daysLeft} days left`;
      console.log(
        `${e.expires}  ${when.padEnd(22)} ${e.kind.padEnd(7)} ${e.name}  ${e.serial ?? ''}`,
      );
    }
  },
  async list(store, _args, v) {
    const index = await store.readIndex();
    if (v.json) return void console.log(JSON.stringify(index, null, 2));
    for (const e of index) {
      const state = e.revokedAt ? `revoked ${e.revokedAt}` : `valid until ${e.notAfter}`;
      console.log(`${e.kind.padEnd(7)} ${e.name.padEnd(24)} ${e.serial}  ${state}`);
    }
  },
};

/** `heru pki …`: the fleet's certificates. */
export async function runPki(args: string[]): Promise<void> {
  const picked = pickCommand(args, OPTIONS, COMMANDS, USAGE);
  if (!picked) return;
  const { name, rest, values } = picked;
  const store = new PkiStore(values.dir ?? provisioningDirs(loadEnv()).pkiDir);
  await COMMANDS[name]!(store, rest, values);
}

function printIssued(what: string, issued: Issued): void {
  const e = issued.entry;
  console.log(`${what}: ${issued.certFile}`);
  console.log(`  key:         ${issued.keyFile} (mode 0600)`);
  console.log(`  subject:     CN=${e.name}`);
  console.log(`  serial:      ${e.serial}`);
  console.log(`  valid:       ${e.notBefore} to ${e.notAfter}`);
  console.log(`  fingerprint: ${e.fingerprint} (SHA-256)`);
}

function days(v: Values): { days?: number } {
  return v.days === undefined ? {} : { days: positive(v.days) };
}

function positive(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 36_500)
    throw new PkiError(
      `--days must be a whole number from 1 to 36500, not ${JSON.stringify(raw)}`,
    );
  return n;
}
