/**
 * Who may connect to the embedded broker, and what each client may publish and read.
 *
 * A client is one of:
 * - the server's own: ingest and `--simulate`'s devices, with the user name of their
 *   role and a secret made at each start that never leaves the process;
 * - a device with a client certificate of the fleet CA (HERU_PKI_DIR/ca.crt) that
 *   crl.pem does not revoke: its id is the certificate's common name;
 * - a device with a password: its id as user name, and the password of that user in
 *   the file `heru device add --password` writes (HERU_BROKER_DIR/passwords);
 * - in `open` mode only, anyone else: anonymous.
 *
 * As with Mosquitto under `heru broker-config` (docs/deployment-mqtt.md), a device's
 * client id becomes its id, so that no device takes over another's session; it may
 * publish only on its own topics (src/broker/acl.ts) and read nothing. Ingest reads
 * everything and publishes nothing; the simulation publishes. An anonymous client
 * publishes and reads anything, as it could before there was authentication.
 *
 * Credentials the broker knows are checked in both modes: a wrong password for a user
 * of the password file, or a revoked certificate, is refused. What it does not know
 * (a user name not in the file, a certificate of another CA) is anonymous in `open`
 * mode, so that firmware configured for another broker still connects, and refused in
 * `device` mode. The password file and crl.pem are read again when they change, so
 * no reload is needed.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { TLSSocket } from 'node:tls';
import type { AuthenticateError, Client } from 'aedes';
import { DEVICE_PUBLISH_PATTERNS } from '../broker/acl.js';
import { readPasswordFile, verifyPassword } from '../broker/passwordFile.js';
import type { EmbeddedMqttAuth } from '../config/embeddedConfig.js';
import { isValidDeviceId } from '../ingest/deviceId.js';
import type { Logger } from '../log.js';
import { topicMatches } from './topicFilter.js';

/** The user names of the server's own clients; `/` keeps them apart from device ids. */
export const INTERNAL_USERS = {
  ingest: 'heru/ingest',
  simulate: 'heru/simulate',
} as const;

/** A device that proved its id. */
export interface DeviceIdentity {
  kind: 'device';
  id: string;
  by: 'certificate' | 'password';
}

/** Who a connected client is. */
export type Identity =
  | { kind: 'internal'; role: keyof typeof INTERNAL_USERS }
  | DeviceIdentity
  | { kind: 'anonymous' };

export interface BrokerAuthOptions {
  mode: EmbeddedMqttAuth;
  /** The fleet's revocation list (HERU_PKI_DIR/crl.pem); absent file: nothing revoked. */
  crlFile: string;
  /** The broker's password file (HERU_BROKER_DIR/passwords); absent file: no users. */
  passwordFile: string;
  /** Ingest's fixed client id: nobody else may take its session. */
  ingestClientId: string;
  /** Further topics a device may publish on, `%u` for its id (mapping topics). */
  extraPatterns?: readonly string[];
}

type ReturnCode = AuthenticateError['returnCode'];

/** MQTT 3.1.1 CONNACK return codes (3.2.2.3). */
const IDENTIFIER_REJECTED = 2 as ReturnCode;
const BAD_CREDENTIALS = 4 as ReturnCode;
const NOT_AUTHORIZED = 5 as ReturnCode;

function refusal(returnCode: ReturnCode, message: string): AuthenticateError {
  const err = new Error(message) as AuthenticateError;
  err.returnCode = returnCode;
  return err;
}

/** A file read again only when its modification time or size changed. */
class WatchedFile<T> {
  private seen = '';
  private value: T;

  constructor(
    private readonly path: string,
    private readonly empty: T,
    private readonly parse: (path: string) => Promise<T>,
  ) {
    this.value = empty;
  }

  async get(): Promise<T> {
    const s = await stat(this.path).catch(() => undefined);
    const key = s ? `${s.mtimeMs}:${s.size}` : '';
    if (key !== this.seen) {
      this.value = s ? await this.parse(this.path) : this.empty;
      this.seen = key;
    }
    return this.value;
  }
}

/** Serial numbers as hex without leading zeros, lower case: the CRL's and Node's agree. */
const normalSerial = (hex: string): string =>
  hex.toLowerCase().replace(/:/g, '').replace(/^0+/, '');

async function revokedSerials(path: string): Promise<Set<string>> {
  // The X.509 library is slow to load: only when there is a CRL and a certificate.
  const { x509 } = await import('../pki/x509.js');
  const crl = new x509.X509Crl(await readFile(path, 'utf8'));
  return new Set(crl.entries.map((e) => normalSerial(e.serialNumber)));
}

export class BrokerAuth {
  /** The secret of the server's own clients, fresh at each start. */
  readonly secret = randomBytes(32).toString('base64url');
  private readonly identities = new WeakMap<Client, Identity>();
  private readonly passwords: WatchedFile<Map<string, string>>;
  private readonly crl: WatchedFile<Set<string>>;
  private readonly patterns: readonly string[];

  constructor(
    private readonly options: BrokerAuthOptions,
    private readonly log: Logger,
  ) {
    this.passwords = new WatchedFile(
      options.passwordFile,
      new Map<string, string>(),
      readPasswordFile,
    );
    this.crl = new WatchedFile(options.crlFile, new Set<string>(), revokedSerials);
    this.patterns = [...DEVICE_PUBLISH_PATTERNS, ...(options.extraPatterns ?? [])];
  }

  /** The identity given at CONNECT; undefined before (or for a broker-made publish). */
  identity(client: Client | null): Identity | undefined {
    return client ? this.identities.get(client) : undefined;
  }

  /** Aedes's `authenticate`: decides who the client is, or refuses it. */
  readonly authenticate = (
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void => {
    this.identify(client, username, password).then(
      (identity) => {
        this.identities.set(client, identity);
        // As Mosquitto's use_username_as_clientid: a device's session is its id's.
        if (identity.kind === 'device') client.id = identity.id;
        this.log.debug({ client: client.id, identity }, 'embedded broker: client');
        done(null, true);
      },
      (err: AuthenticateError) => {
        this.log.info(
          { client: client.id, user: username, reason: err.message },
          'embedded broker: connection refused',
        );
        done(err, false);
      },
    );
  };

  /** Why `client` may not publish on `topic`, or undefined when it may. */
  publishRefusal(client: Client | null, topic: string): string | undefined {
    if (topic.startsWith('$')) return `${topic}: topics starting with $ are the broker's`;
    const who = this.identity(client);
    if (client === null || who === undefined) return undefined;
    if (who.kind === 'anonymous') return undefined;
    if (who.kind === 'internal') {
      return who.role === 'simulate' ? undefined : 'ingest does not publish';
    }
    const own = this.patterns.some((p) =>
      topicMatches(p.replaceAll('%u', who.id), topic),
    );
    return own ? undefined : `device ${who.id} may publish only under its own id`;
  }

  /** True when `client` may subscribe: ingest, and anonymous clients in `open` mode. */
  maySubscribe(client: Client): boolean {
    const who = this.identity(client);
    return (
      who?.kind === 'anonymous' || (who?.kind === 'internal' && who.role === 'ingest')
    );
  }

  private async identify(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<Identity> {
    const internal = this.internalRole(username, password);
    if (internal) return { kind: 'internal', role: internal };
    const device =
      (await this.certificateIdentity(client)) ??
      (await this.passwordIdentity(username, password));
    if (device?.id === this.options.ingestClientId) {
      throw refusal(IDENTIFIER_REJECTED, 'that device id is the server ingest client id');
    }
    if (device) return device;
    if (this.options.mode === 'device') {
      throw refusal(
        NOT_AUTHORIZED,
        'a client certificate of the fleet CA, or a device id and password, is required',
      );
    }
    if (client.id === this.options.ingestClientId) {
      throw refusal(IDENTIFIER_REJECTED, 'that client id is the server ingest');
    }
    return { kind: 'anonymous' };
  }

  private internalRole(
    username: string | undefined,
    password: Buffer | undefined,
  ): keyof typeof INTERNAL_USERS | undefined {
    const role = (Object.keys(INTERNAL_USERS) as Array<keyof typeof INTERNAL_USERS>).find(
      (r) => INTERNAL_USERS[r] === username,
    );
    if (role === undefined) return undefined;
    const expected = Buffer.from(this.secret);
    if (password?.length === expected.length && timingSafeEqual(password, expected)) {
      return role;
    }
    throw refusal(BAD_CREDENTIALS, 'wrong secret for a user of the server');
  }

  /** The device of a client certificate of the fleet CA; throws when it is revoked. */
  private async certificateIdentity(client: Client): Promise<DeviceIdentity | undefined> {
    const socket = client.conn;
    if (!(socket instanceof TLSSocket)) return undefined;
    const cert = socket.getPeerCertificate();
    if (!cert || Object.keys(cert).length === 0) return undefined;
    // Signed by another CA (or expired): unknown, not a device of this fleet.
    if (!socket.authorized) return undefined;
    const cn = Array.isArray(cert.subject.CN) ? cert.subject.CN[0] : cert.subject.CN;
    if (cn === undefined || !isValidDeviceId(cn)) {
      throw refusal(NOT_AUTHORIZED, 'the certificate names no device id');
    }
    if ((await this.crl.get()).has(normalSerial(cert.serialNumber))) {
      throw refusal(NOT_AUTHORIZED, `the certificate of ${cn} is revoked`);
    }
    return { kind: 'device', id: cn, by: 'certificate' };
  }

  /** The device whose password this is; throws when the user is known and it is not. */
  private async passwordIdentity(
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<DeviceIdentity | undefined> {
    if (username === undefined) return undefined;
    const hash = (await this.passwords.get()).get(username);
    if (hash === undefined) return undefined;
    if (password === undefined || !verifyPassword(password.toString('utf8'), hash)) {
      throw refusal(BAD_CREDENTIALS, `wrong password for ${username}`);
    }
    return { kind: 'device', id: username, by: 'password' };
  }
}
