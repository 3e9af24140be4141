/**
 * Who may use the embedded broker. By default (`open`) anyone connects, as README's
 * first steps do, but a device of the password file is held to its password and to
 * its own topics. With EMBEDDED_MQTT_AUTH=device every device proves its id, by a
 * client certificate of the fleet CA (revocable) or its password (also on the plain
 * localhost listener), and publishes only under it; `--simulate` still runs.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/anchor.js';
import { waitFor } from './helpers/app.js';
import { EmbeddedServer } from './helpers/embeddedServer.js';

const PASSWORD = 'correct horse battery staple';

/** A server of its own on a fresh folder, and what a test asks of it. */
class Rig {
  server!: EmbeddedServer;
  dataDir!: string;

  async start(env: Record<string, string>, args: string[] = []): Promise<void> {
    this.dataDir = await mkdtemp(join(tmpdir(), 'heru-embedded-auth-'));
    this.server = await EmbeddedServer.create(this.dataDir, env, args);
    await this.server.start();
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true });
  }

  /** `heru <args>` against this server's folder (its database and PKI). */
  async cli(args: string[]): Promise<string> {
    const r = await runCli(args, {
      HERU_DATA_DIR: this.dataDir,
      DATABASE_URL: '',
      HOME: process.env.HOME ?? '',
    });
    if (r.code !== 0) throw new Error(`heru ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** Registers a device with the password PASSWORD in the broker's password file. */
  async addPasswordDevice(id: string): Promise<void> {
    const file = join(this.dataDir, `${id}.password`);
    await writeFile(file, PASSWORD, { mode: 0o600 });
    await this.cli(['device', 'add', id, '--password-file', file, '--by', 'test']);
  }

  async connect(
    options: Partial<IClientOptions> & { plain?: boolean },
  ): Promise<MqttClient> {
    const { plain, ...rest } = options;
    const client = await mqtt.connectAsync({
      ...(plain
        ? { protocol: 'mqtt', host: '127.0.0.1', port: this.server.ports.mqtt }
        : {
            protocol: 'mqtts',
            host: 'localhost',
            port: this.server.ports.mqtts,
            ca: await readFile(join(this.dataDir, 'pki', 'ca.crt')),
          }),
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 20_000,
      ...rest,
    });
    client.on('error', () => undefined);
    return client;
  }

  /** The CONNACK return code of a refused connection (4: bad credentials, 5: not authorised). */
  async refusal(options: Partial<IClientOptions> & { plain?: boolean }): Promise<number> {
    try {
      const client = await this.connect(options);
      await client.endAsync();
    } catch (err) {
      return (err as { code?: number }).code ?? -1;
    }
    throw new Error('the connection was accepted');
  }

  async readings(deviceId: string): Promise<number> {
    const url = (await readFile(join(this.dataDir, 'postgres.url'), 'utf8')).trim();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const r = await client.query<{ n: number }>(
        'select count(*)::int as n from reading where device_id = $1',
        [deviceId],
      );
      return r.rows[0]!.n;
    } finally {
      await client.end();
    }
  }

  async waitForReadings(deviceId: string, n: number): Promise<void> {
    await waitFor(
      async () => ((await this.readings(deviceId)) >= n ? true : undefined),
      30_000,
      `${n} reading(s) of ${deviceId}`,
    );
  }
}

const firmware = (id: string): [string, string] => [
  `heru/sensors/${id}`,
  JSON.stringify({ device_id: id, temperature: 4.5, humidity: 50 }),
];

/** Publishes QoS 1 and resolves once acknowledged, or rejects when the broker hangs up. */
async function publish(
  client: MqttClient,
  [topic, payload]: [string, string],
): Promise<void> {
  const closed = new Promise<never>((_, reject) =>
    client.once('close', () => reject(new Error('the broker closed the connection'))),
  );
  await Promise.race([client.publishAsync(topic, payload, { qos: 1 }), closed]);
}

describe('the embedded broker, open (the default)', () => {
  const rig = new Rig();
  beforeAll(() => rig.start({}));
  afterAll(() => rig.stop());

  it('refuses a device of the password file that gives a wrong password', async () => {
    await rig.addPasswordDevice('pw-fridge-1');
    const code = await rig.refusal({
      username: 'pw-fridge-1',
      password: 'wrong password!',
    });
    expect(code).toBe(4);
  });

  it('lets that device publish under its own id only', async () => {
    const device = await rig.connect({ username: 'pw-fridge-1', password: PASSWORD });
    await expect(publish(device, firmware('pw-fridge-2'))).rejects.toThrow(/closed/);
    const again = await rig.connect({ username: 'pw-fridge-1', password: PASSWORD });
    await publish(again, firmware('pw-fridge-1'));
    await again.endAsync();
    await rig.waitForReadings('pw-fridge-1', 1);
    expect(await rig.readings('pw-fridge-2')).toBe(0);
  });

  it('still takes an anonymous client, and one whose user it does not know', async () => {
    const anonymous = await rig.connect({});
    await publish(anonymous, firmware('anon-fridge'));
    await anonymous.endAsync();
    const elsewhere = await rig.connect({
      username: 'someone',
      password: 'their broker',
    });
    await publish(elsewhere, firmware('anon-fridge'));
    await elsewhere.endAsync();
    await rig.waitForReadings('anon-fridge', 1);
  });
});

describe('the embedded broker with EMBEDDED_MQTT_AUTH=device', () => {
  const rig = new Rig();
  const otherPki = { dir: '' };
  beforeAll(async () => {
    await rig.start({ EMBEDDED_MQTT_AUTH: 'device' }, ['--simulate', '2']);
    otherPki.dir = await mkdtemp(join(tmpdir(), 'heru-other-pki-'));
  });
  afterAll(async () => {
    await rig.stop();
    await rm(otherPki.dir, { recursive: true, force: true });
  });

  const certOf = async (pkiDir: string, id: string) => ({
    cert: await readFile(join(pkiDir, 'devices', `${id}.crt`)),
    key: await readFile(join(pkiDir, 'devices', `${id}.key`)),
  });

  it('refuses a client without a certificate or a password', async () => {
    expect(await rig.refusal({})).toBe(5);
    expect(await rig.refusal({ username: 'nobody', password: 'at all, at all' })).toBe(5);
  });

  it('takes a device by its client certificate and keeps it to its own topics', async () => {
    await rig.cli(['device', 'add', 'cert-fridge-7', '--cert', '--by', 'test']);
    const creds = await certOf(join(rig.dataDir, 'pki'), 'cert-fridge-7');
    const wrongTopic = await rig.connect(creds);
    await expect(publish(wrongTopic, firmware('cert-fridge-8'))).rejects.toThrow(
      /closed/,
    );
    const device = await rig.connect({ ...creds, clientId: 'any-client-id' });
    await publish(device, [
      'heru/v1/devices/cert-fridge-7/readings',
      JSON.stringify({ boot: 1, seq: 1, time: new Date().toISOString(), temperature: 5 }),
    ]);
    await device.endAsync();
    await rig.waitForReadings('cert-fridge-7', 1);
    expect(await rig.readings('cert-fridge-8')).toBe(0);
  });

  it('refuses a certificate of another CA, and a revoked one', async () => {
    const other = { HERU_PKI_DIR: otherPki.dir, HOME: process.env.HOME ?? '' };
    expect((await runCli(['pki', 'ca', 'create'], other)).code).toBe(0);
    expect((await runCli(['pki', 'device', 'cert-fridge-9'], other)).code).toBe(0);
    expect(await rig.refusal(await certOf(otherPki.dir, 'cert-fridge-9'))).toBe(5);

    await rig.cli(['pki', 'revoke', 'cert-fridge-7']);
    const revoked = await certOf(join(rig.dataDir, 'pki'), 'cert-fridge-7');
    expect(await rig.refusal(revoked)).toBe(5);
  });

  it('takes a password device on the plain localhost listener, and nobody else there', async () => {
    await rig.addPasswordDevice('esp32_sensor_01');
    expect(await rig.refusal({ plain: true })).toBe(5);
    const device = await rig.connect({
      plain: true,
      username: 'esp32_sensor_01',
      password: PASSWORD,
    });
    await publish(device, firmware('esp32_sensor_01'));
    await device.endAsync();
    await rig.waitForReadings('esp32_sensor_01', 1);
  });

  it("stores the readings of --simulate's devices", async () => {
    await rig.waitForReadings('sim-001', 1);
  });
});
