/**
 * The fleet's broker as `heru broker-config` writes it, run by a real Mosquitto on free
 * loopback ports, with certificates from `heru pki` and a password from `heru device
 * add`; the server ingests through its own listener with its own certificate.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBrokerOptions, writeBrokerConfig } from '../src/broker/brokerConfig.js';
import { revoke } from '../src/pki/crl.js';
import { createCa, issueDevice, issueIngest, issueServer } from '../src/pki/issue.js';
import { PkiStore } from '../src/pki/store.js';
import { waitFor } from './helpers/app.js';
import { freePort, waitForPort } from './helpers/ports.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { ServerProcess } from './helpers/serverProcess.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const run = promisify(execFile);

/** `heru …` as an operator runs it; answers what it printed. */
async function heru(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout, stderr } = await run(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', ...args],
    { cwd: REPO, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, timeout: 60_000 },
  );
  return stdout + stderr;
}

/** A Mosquitto started on a configuration file, its log lines kept. */
class Broker {
  readonly lines: string[] = [];
  private child: ChildProcess | undefined;

  constructor(
    private readonly conf: string,
    private readonly port: number,
  ) {}

  async start(): Promise<void> {
    const child = spawn('mosquitto', ['-c', this.conf], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    for (const s of [child.stdout, child.stderr])
      createInterface({ input: s }).on('line', (l) => this.lines.push(l));
    await waitForPort(this.port);
  }

  /** Reloads the configuration, certificates, CRL and password file (it logs nothing). */
  reload(): void {
    this.child?.kill('SIGHUP');
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  }
}

describe('a broker run on the generated configuration', () => {
  let dir: string;
  let store: PkiStore;
  let foreign: PkiStore;
  let db: TestDatabase;
  let sql: pg.Pool;
  let broker: Broker;
  let server: ServerProcess;
  const ports = { devices: 0, ingest: 0, passwords: 0 };
  let firmwarePassword = '';
  const cliOutput: string[] = [];

  const tls = (s: PkiStore, id: string, port = ports.devices): IClientOptions => ({
    ca: readFileSync(store.caCert),
    cert: readFileSync(s.pair('device', id).cert),
    key: readFileSync(s.pair('device', id).key),
    port,
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'heru-broker-e2e-'));
    store = new PkiStore(join(dir, 'pki'));
    foreign = new PkiStore(join(dir, 'foreign-pki'));
    ports.devices = await freePort();
    ports.ingest = await freePort();
    ports.passwords = await freePort();
    db = await createTestDatabase();
    sql = new pg.Pool({ connectionString: db.url.toString(), max: 2 });

    await createCa(store);
    await issueServer(store, { names: ['localhost', '127.0.0.1'] });
    await issueIngest(store, { name: 'heru-ingest' });
    cliOutput.push(await heru(['pki', 'device', 'fridge-a', '--dir', store.dir]));
    for (const id of ['fridge-b', 'fridge-revoked', 'fridge-late'])
      await issueDevice(store, id);
    await issueDevice(store, 'fridge-expired', {
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2020-02-01T00:00:00Z'),
    });
    await revoke(store, 'fridge-revoked');
    // Another CA's certificate for the same device id.
    await createCa(foreign, { name: 'Some Other CA' });
    await issueDevice(foreign, 'fridge-a');

    mkdirSync(join(dir, 'data'));
    const opts = defaultBrokerOptions(join(dir, 'broker'), store.dir);
    opts.devices = { port: ports.devices, address: '127.0.0.1' };
    opts.ingest = { port: ports.ingest, address: '127.0.0.1' };
    opts.passwords = { port: ports.passwords, address: '127.0.0.1', plain: true };
    opts.persistenceDir = join(dir, 'data');
    opts.runAs = userInfo().username;
    opts.logDest = 'stderr';
    const files = await writeBrokerConfig(opts);
    const added = await heru(
      [
        'device',
        'add',
        'heru-fw-1',
        '--password',
        '--passwords',
        files.passwords!,
        '--site',
        'Clinic A',
      ],
      { DATABASE_URL: db.url.toString() },
    );
    cliOutput.push(added);
    firmwarePassword = /password \(shown once[^:]*\): (\S+)/.exec(added)![1]!;

    broker = new Broker(files.conf, ports.devices);
    await broker.start();
    const ingest = store.pair('ingest');
    server = await ServerProcess.start({
      databaseUrl: db.url,
      mqttUrl: `mqtts://127.0.0.1:${ports.ingest}`,
      clientId: 'heru-ingest-e2e',
      env: {
        MQTT_CA_FILE: store.caCert,
        MQTT_CERT_FILE: ingest.cert,
        MQTT_KEY_FILE: ingest.key,
      },
    });
    await waitFor(
      async () => ((await server.health()).status === 200 ? true : undefined),
      30_000,
      'ingest connected',
    );
  });

  afterAll(async () => {
    await server?.stop();
    await broker?.stop();
    await sql?.end();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const connect = (opts: IClientOptions, protocol = 'mqtts'): Promise<MqttClient> =>
    mqtt.connectAsync(
      `${protocol}://127.0.0.1`,
      { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 5, ...opts },
      false,
    );

  const storedReadings = async (deviceId: string): Promise<number> => {
    const { rows } = await sql.query<{ n: number }>(
      'select count(*)::int as n from reading where device_id = $1',
      [deviceId],
    );
    return rows[0]!.n;
  };

  const rawOf = async (topic: string) =>
    (
      await sql.query<{ outcome: string; reason: string | null }>(
        'select outcome, reason from raw_message where topic = $1',
        [topic],
      )
    ).rows;

  it('stores what a device publishes with its own certificate', async () => {
    const c = await connect({ ...tls(store, 'fridge-a'), clientId: 'anything' });
    await c.publishAsync('heru/v1/devices/fridge-a/readings', '{"temperature": 4.2}', {
      qos: 1,
    });
    await c.endAsync();
    await waitFor(
      async () => ((await storedReadings('fridge-a')) === 1 ? true : undefined),
      20_000,
    );
  });

  it("refuses a device publishing under another device's topic, and delivers nothing of it", async () => {
    const c = await connect(tls(store, 'fridge-a'));
    const refused = await c
      .publishAsync('heru/v1/devices/fridge-b/readings', '{"temperature": 9.9}', {
        qos: 1,
      })
      .then(
        () => 0,
        (err: { code?: number }) => err.code,
      );
    expect(refused).toBe(135); // MQTT 5 PUBACK: not authorized
    await c.publishAsync('heru/sensors/fridge-b', '{"temperature": 9.9}', { qos: 0 });
    await c.publishAsync('heru/sensors/fridge-a', '{"temperature": 4.4}', { qos: 1 });
    await c.endAsync();
    // The last message arrives after the refused ones: once it is stored, they would be too.
    await waitFor(
      async () =>
        (await rawOf('heru/sensors/fridge-a')).length === 1 ? true : undefined,
      20_000,
    );
    expect(await rawOf('heru/v1/devices/fridge-b/readings')).toEqual([]);
    expect(await rawOf('heru/sensors/fridge-b')).toEqual([]);
    expect(await storedReadings('fridge-b')).toBe(0);
  });

  it('quarantines a payload that names another device than its topic', async () => {
    const c = await connect(tls(store, 'fridge-b'));
    const topic = 'heru/v1/devices/fridge-b/readings';
    await c.publishAsync(topic, '{"device_id": "fridge-a", "temperature": 30}', {
      qos: 1,
    });
    await c.endAsync();
    const rows = await waitFor(async () => {
      const r = await rawOf(topic);
      return r.length === 1 ? r : undefined;
    }, 20_000);
    expect(rows[0]).toEqual({ outcome: 'quarantined', reason: 'DEVICE_TOPIC_MISMATCH' });
  });

  it("does not let a device take over another device's session by its client id", async () => {
    const b = await connect({ ...tls(store, 'fridge-b'), clientId: 'fridge-b' });
    const a = await connect({ ...tls(store, 'fridge-a'), clientId: 'fridge-b' });
    await new Promise((r) => setTimeout(r, 500));
    expect(b.connected).toBe(true);
    await Promise.all([a.endAsync(), b.endAsync()]);
  });

  /** What is refused, how to connect, and what the refusal says (TLS alert or CONNACK). */
  const refusals: Array<[string, () => IClientOptions, RegExp, string?]> = [
    ['a revoked certificate', () => tls(store, 'fridge-revoked'), /certificate revoked/i],
    [
      'an expired certificate',
      () => tls(store, 'fridge-expired'),
      /certificate expired/i,
    ],
    ['a certificate of another CA', () => tls(foreign, 'fridge-a'), /unknown ca/i],
    [
      'TLS without a client certificate',
      () => ({ ca: readFileSync(store.caCert), port: ports.devices }),
      /certificate required/i,
    ],
    [
      'plain MQTT on the TLS port',
      () => ({ port: ports.devices }),
      /ECONNRESET|couldn't connect/i,
      'mqtt',
    ],
    [
      'plain MQTT without a password',
      () => ({ port: ports.passwords, clientId: 'x' }),
      /not authorized/i,
      'mqtt',
    ],
  ];

  it.each(refusals)(
    'refuses a connection with %s',
    async (_what, opts, says, protocol) => {
      await expect(connect(opts(), protocol)).rejects.toThrow(says);
    },
  );

  it('refuses a certificate revoked while it runs, once reloaded', async () => {
    const before = await connect(tls(store, 'fridge-late'));
    await before.endAsync();
    await revoke(store, 'fridge-late');
    broker.reload();
    const refused = await waitFor(
      () =>
        connect(tls(store, 'fridge-late')).then(
          async (c) => void (await c.endAsync()),
          () => true,
        ),
      5000,
      'the revoked certificate refused',
    );
    expect(refused).toBe(true);
  });

  it("stores the Heru firmware's payload over the password listener for a registered device", async () => {
    const c = await connect(
      {
        port: ports.passwords,
        protocolVersion: 4,
        username: 'heru-fw-1',
        password: firmwarePassword,
      },
      'mqtt',
    );
    const payload = '{"device_id": "heru-fw-1","temperature": 23.45,"humidity": 45.60}';
    await c.publishAsync('heru/sensors/heru-fw-1', payload, { qos: 0 });
    await c.endAsync();
    await waitFor(
      async () => ((await storedReadings('heru-fw-1')) === 1 ? true : undefined),
      20_000,
    );
  });

  it('refuses the password listener a wrong password', async () => {
    const opts = {
      port: ports.passwords,
      protocolVersion: 4 as const,
      username: 'heru-fw-1',
    };
    await expect(
      connect({ ...opts, password: 'not-the-password' }, 'mqtt'),
    ).rejects.toThrow(/Not authorized/i);
  });

  it('keeps every private key and the password file readable by their owner only', () => {
    const keys = [store.caKey, store.pair('server').key, store.pair('ingest').key];
    for (const f of readdirSync(join(store.dir, 'devices')))
      if (f.endsWith('.key')) keys.push(join(store.dir, 'devices', f));
    expect(keys.length).toBeGreaterThanOrEqual(8);
    for (const k of keys) expect(statSync(k).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'broker', 'passwords')).mode & 0o777).toBe(0o600);
  });

  it('writes no private key and no password into any log line', () => {
    const keys: string[] = [];
    for (const s of [store, foreign])
      for (const f of [s.caKey, s.pair('device', 'fridge-a').key])
        keys.push(...keyLines(f));
    const logs = [...server.logs.map((l) => l.text), ...broker.lines];
    expect(logs.length).toBeGreaterThan(10);
    for (const line of logs) {
      for (const secret of [...keys, firmwarePassword, 'not-the-password', 'PRIVATE KEY'])
        expect(line).not.toContain(secret);
    }
    // The CLI names key files but never prints a key (it prints a new password once).
    for (const out of cliOutput) {
      for (const secret of [...keys, 'PRIVATE KEY']) expect(out).not.toContain(secret);
    }
  });
});

/** The base64 lines of a PEM private key: any of them in a log would be a leak. */
function keyLines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length >= 16 && !l.startsWith('-----'));
}
