import { parseArgs } from 'node:util';
import {
  defaultBrokerOptions,
  writeBrokerConfig,
  type ListenerAddress,
} from '../../broker/brokerConfig.js';
import { provisioningDirs } from '../../broker/dirs.js';
import { loadEnv } from '../../config/env.js';

const USAGE = `heru broker-config [options]

Writes the Mosquitto configuration for the fleet: mosquitto.conf, acl, and (with a
password listener) an empty password file when there is none.

  --out <dir>              where to write, default HERU_BROKER_DIR or ./.heru/broker
  --pki-dir <dir>          ca.crt, server.crt/key and crl.pem, default HERU_PKI_DIR or ./.heru/pki
  --devices <[addr:]port>  device TLS listener, client certificate required (default 8883)
  --ingest <[addr:]port>   the server's ingest listener (default 127.0.0.1:8884)
  --ingest-user <name>     common name of the ingest's certificate (default heru-ingest)
  --passwords <[addr:]port>
                           opt-in: a listener for devices with a username and password
  --passwords-plain        that listener without TLS (passwords cross the network readable)
  --persistence <dir>      Mosquitto's persistence folder (default /var/lib/mosquitto/)
  --conf-d <dir>           folder included last (default the shipped deploy/mosquitto/conf.d)
  --run-as <user>          the Unix user Mosquitto runs as (default Mosquitto's own)
  --log-dest <dest>        log_dest (default stdout)
  --acl-pattern <topic>    a further device topic, %u being the device id (repeatable)

Anonymous access is never allowed. See docs/deployment-mqtt.md.`;

const OPTIONS = {
  out: { type: 'string' },
  'pki-dir': { type: 'string' },
  devices: { type: 'string' },
  ingest: { type: 'string' },
  'ingest-user': { type: 'string' },
  passwords: { type: 'string' },
  'passwords-plain': { type: 'boolean' },
  persistence: { type: 'string' },
  'conf-d': { type: 'string' },
  'run-as': { type: 'string' },
  'log-dest': { type: 'string' },
  'acl-pattern': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `heru broker-config`: writes the broker's configuration for the fleet. */
export async function runBrokerConfig(args: string[]): Promise<void> {
  const { values: v } = parseArgs({ args, options: OPTIONS, allowPositionals: false });
  if (v.help) return void console.log(USAGE);
  const dirs = provisioningDirs(loadEnv());
  const o = defaultBrokerOptions(v.out ?? dirs.brokerDir, v['pki-dir'] ?? dirs.pkiDir);
  if (v.devices) o.devices = address(v.devices, '--devices');
  if (v.ingest) o.ingest = address(v.ingest, '--ingest');
  if (v.passwords)
    o.passwords = {
      ...address(v.passwords, '--passwords'),
      plain: v['passwords-plain'] === true,
    };
  if (v['ingest-user']) o.ingestUser = v['ingest-user'];
  if (v.persistence) o.persistenceDir = v.persistence;
  if (v['conf-d']) o.confD = v['conf-d'];
  if (v['run-as']) o.runAs = v['run-as'];
  if (v['log-dest']) o.logDest = v['log-dest'];
  if (v['acl-pattern']) o.extraPatterns = v['acl-pattern'];
  const files = await writeBrokerConfig(o);
  console.log(`mosquitto.conf: ${files.conf}`);
  console.log(`acl:            ${files.acl}`);
  if (files.passwords) console.log(`passwords:      ${files.passwords}`);
  console.log(`Run: mosquitto -c ${files.conf}`);
}

/** `8883`, `127.0.0.1:8884` or `[::1]:8884`. */
function address(raw: string, option: string): ListenerAddress {
  const m = /^(?:\[([^\]]+)\]:|([^:]+):)?(\d{1,5})$/.exec(raw);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) {
    throw new Error(
      `${option} must be a port or address:port, such as 8883 or 127.0.0.1:8884; got ${JSON.stringify(raw)}`,
    );
  }
  const host = m[1] ?? m[2];
  return host === undefined ? { port } : { port, address: host };
}
