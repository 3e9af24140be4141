/**
 * The Mosquitto configuration for the fleet, as `heru broker-config` writes it:
 *
 * - devices: TLS on 8883, a client certificate from the fleet CA required, its common
 *   name taken as the username and as the client id (so no device can take over
 *   another's session), the CRL checked;
 * - the server's ingest: the same TLS with its own certificate on a listener of its
 *   own (127.0.0.1:8884 by default), where it keeps its fixed client id;
 * - opt-in, for firmware that cannot hold a certificate: a username/password listener
 *   (TLS with the broker's certificate unless `plain`), the users in a password file
 *   that `heru device add --password` fills;
 * - everywhere: no anonymous access, the ACL of acl.ts, persistence, and the queue
 *   limits of deploy/mosquitto/conf.d (included).
 *
 * Every port, address and path is a parameter, so the tests run the same
 * configuration on free loopback ports.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderAcl } from './acl.js';
import { ensurePasswordFile } from './passwordFile.js';

/** The settings ingest relies on (persistence, queue sizes), shipped with the server. */
export const SHIPPED_CONF_D = fileURLToPath(
  new URL('../../deploy/mosquitto/conf.d', import.meta.url),
);

/** Where a listener accepts connections; no address means every interface. */
export interface ListenerAddress {
  port: number;
  address?: string;
}

export interface PasswordListener extends ListenerAddress {
  /** Plain TCP: the password crosses the network readable (default false: TLS). */
  plain?: boolean;
}

export interface BrokerConfigOptions {
  /** Folder the files are written to (mosquitto.conf, acl, passwords). */
  outDir: string;
  /** The PKI folder holding ca.crt, server.crt, server.key and crl.pem. */
  pkiDir: string;
  /** Device listener, default port 8883 on every interface. */
  devices: ListenerAddress;
  /** The ingest's listener, default 127.0.0.1:8884. */
  ingest: ListenerAddress;
  /** The password listener; absent (the default) means none. */
  passwords?: PasswordListener;
  /** The ingest's username (its certificate's common name), default `heru-ingest`. */
  ingestUser: string;
  /** Mosquitto's persistence folder, default /var/lib/mosquitto/. */
  persistenceDir: string;
  /** Folder included last (`include_dir`), default the shipped deploy/mosquitto/conf.d. */
  confD: string;
  /** Unix user the broker runs as; unset keeps Mosquitto's default (`mosquitto`). */
  runAs?: string;
  /** `log_dest`, default `stdout`. */
  logDest: string;
  /** Extra ACL patterns for the topics of an operator's mappings. */
  extraPatterns?: readonly string[];
}

/** The options with their defaults, for the given folders. */
export function defaultBrokerOptions(
  outDir: string,
  pkiDir: string,
): BrokerConfigOptions {
  return {
    outDir: resolve(outDir),
    pkiDir: resolve(pkiDir),
    devices: { port: 8883 },
    ingest: { port: 8884, address: '127.0.0.1' },
    ingestUser: 'heru-ingest',
    persistenceDir: '/var/lib/mosquitto/',
    confD: SHIPPED_CONF_D,
    logDest: 'stdout',
  };
}

/** The files of one configuration. */
export interface BrokerFiles {
  conf: string;
  acl: string;
  /** Set when the password listener is on. */
  passwords?: string;
}

export function brokerFiles(opts: BrokerConfigOptions): BrokerFiles {
  const out = resolve(opts.outDir);
  const files: BrokerFiles = { conf: join(out, 'mosquitto.conf'), acl: join(out, 'acl') };
  if (opts.passwords) files.passwords = join(out, 'passwords');
  return files;
}

/** Writes mosquitto.conf and acl (and an empty password file when there is none). */
export async function writeBrokerConfig(opts: BrokerConfigOptions): Promise<BrokerFiles> {
  const files = brokerFiles(opts);
  await mkdir(resolve(opts.outDir), { recursive: true, mode: 0o755 });
  await writeFile(files.conf, renderMosquittoConf(opts), { mode: 0o644 });
  const acl = { ingestUser: opts.ingestUser, extraPatterns: opts.extraPatterns ?? [] };
  await writeFile(files.acl, renderAcl(acl), { mode: 0o644 });
  if (files.passwords) await ensurePasswordFile(files.passwords);
  return files;
}

/** The text of mosquitto.conf. */
export function renderMosquittoConf(opts: BrokerConfigOptions): string {
  const files = brokerFiles(opts);
  const pki = resolve(opts.pkiDir);
  const tls = [
    `cafile ${join(pki, 'ca.crt')}`,
    `certfile ${join(pki, 'server.crt')}`,
    `keyfile ${join(pki, 'server.key')}`,
    'tls_version tlsv1.2',
  ];
  const clientCert = [
    ...tls,
    `crlfile ${join(pki, 'crl.pem')}`,
    'require_certificate true',
    'use_identity_as_username true',
  ];
  const lines = [
    '# Written by `heru broker-config`; regenerate it rather than edit it.',
    'per_listener_settings false',
    ...(opts.runAs ? [`user ${opts.runAs}`] : []),
    'allow_anonymous false',
    `acl_file ${files.acl}`,
    ...(files.passwords ? [`password_file ${files.passwords}`] : []),
    'persistence true',
    `persistence_location ${withSlash(opts.persistenceDir)}`,
    `log_dest ${opts.logDest}`,
    'log_type error',
    'log_type warning',
    'log_type notice',
    'connection_messages true',
    '',
    '# Devices with a certificate of the fleet CA; its common name is the device id.',
    listenerLine(opts.devices),
    ...clientCert,
    'use_username_as_clientid true',
    '',
    "# The server's ingest, with its own certificate and its fixed client id.",
    listenerLine(opts.ingest),
    ...clientCert,
    ...passwordSection(opts.passwords, tls),
    '',
    '# Persistence and queue limits for a fleet that reconnects after an outage.',
    `include_dir ${resolve(opts.confD)}`,
    '',
  ];
  return lines.join('\n');
}

function passwordSection(p: PasswordListener | undefined, tls: string[]): string[] {
  if (!p) return [];
  return [
    '',
    '# Devices that cannot hold a certificate: a username (the device id) and a',
    '# password from the password file.',
    ...(p.plain
      ? ['# Plain TCP: passwords and readings cross the network unencrypted.']
      : []),
    listenerLine(p),
    ...(p.plain ? [] : tls),
    'use_username_as_clientid true',
  ];
}

function listenerLine(l: ListenerAddress): string {
  return l.address ? `listener ${l.port} ${l.address}` : `listener ${l.port}`;
}

function withSlash(dir: string): string {
  const abs = resolve(dir);
  return abs.endsWith('/') ? abs : `${abs}/`;
}
