import mqtt from 'mqtt';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/app.js';
import { readingPayload, readingsTopic } from './helpers/burst.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { freePort, waitForPort } from './helpers/ports.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { ServerProcess, type HealthAnswer } from './helpers/serverProcess.js';
import { createTestPki, type CertFiles, type TestPki } from './helpers/tls.js';

/** The broker's TLS listeners, each showing the server one kind of certificate. */
interface Listeners {
  /** Valid certificate from the trusted CA. */
  good: number;
  /** The same, and the broker requires a client certificate. */
  mutual: number;
  expired: number;
  foreign: number;
  /** The valid certificate on 127.0.0.2, an address its SAN does not name. */
  otherAddress: number;
}

describe('ingest from a broker over TLS (mqtts)', () => {
  let pki: TestPki;
  let db: TestDatabase;
  let sql: pg.Pool;
  let broker: TestBroker;
  let ports: Listeners;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    pki = createTestPki();
    db = await createTestDatabase();
    sql = new pg.Pool({ connectionString: db.url.toString(), max: 1 });
    ports = {
      good: await freePort(),
      mutual: await freePort(),
      expired: await freePort(),
      foreign: await freePort(),
      otherAddress: await freePort(),
    };
    broker = await startBroker(
      [
        tlsListener(ports.good, '127.0.0.1', pki.caFile, pki.server),
        tlsListener(ports.mutual, '127.0.0.1', pki.caFile, pki.server, true),
        tlsListener(ports.expired, '127.0.0.1', pki.caFile, pki.expiredServer),
        tlsListener(ports.foreign, '127.0.0.1', pki.caFile, pki.foreignServer),
        tlsListener(ports.otherAddress, '127.0.0.2', pki.caFile, pki.server),
      ].join('\n'),
    );
    for (const port of [ports.good, ports.mutual, ports.expired, ports.foreign])
      await waitForPort(port);
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(server?.output(100));
    await server?.stop();
    server = undefined;
  });

  afterAll(async () => {
    await sql?.end();
    await broker?.destroy();
    await db?.drop();
    pki?.remove();
  });

  const startServer = async (name: string, url: string, env: Record<string, string>) => {
    server = await ServerProcess.start({
      databaseUrl: db.url,
      mqttUrl: url,
      clientId: `heru-tls-${name}`,
      env,
    });
    return server;
  };

  /** Publishes one reading through the plain listener and waits until it is stored. */
  const expectStored = async (deviceId: string) => {
    const publisher = await mqtt.connectAsync(broker.url, {
      clientId: `${deviceId}-pub`,
    });
    try {
      const payload = readingPayload(1, 1, Date.now() - 60_000);
      await publisher.publishAsync(readingsTopic(deviceId), payload, { qos: 1 });
    } finally {
      await publisher.endAsync();
    }
    await waitFor(async () => {
      const { rowCount } = await sql.query('select 1 from reading where device_id = $1', [
        deviceId,
      ]);
      return rowCount === 1 ? true : undefined;
    }, 20_000);
  };

  it('stores a reading over mqtts with the CA given in MQTT_CA_FILE', async () => {
    const s = await startServer('good', `mqtts://127.0.0.1:${ports.good}`, {
      MQTT_CA_FILE: pki.caFile,
    });
    const health = await waitForHealth(s, (h) => h.status === 200);
    expect(health.body.checks.mqtt?.status).toBe('ok');
    await expectStored('tls-good');
  });

  it('presents its client certificate when the broker requires one', async () => {
    const s = await startServer('mutual', `mqtts://127.0.0.1:${ports.mutual}`, {
      MQTT_CA_FILE: pki.caFile,
      MQTT_CERT_FILE: pki.client.cert,
      MQTT_KEY_FILE: pki.client.key,
    });
    await waitForHealth(s, (h) => h.status === 200);
    await expectStored('tls-mutual');
  });

  it('reports the broker asking for a client certificate it was not given', async () => {
    const s = await startServer('no-client-cert', `mqtts://127.0.0.1:${ports.mutual}`, {
      MQTT_CA_FILE: pki.caFile,
    });
    const health = await waitForHealth(s, (h) => mqttError(h)?.code !== undefined);
    expect(health.status).toBe(503);
    expect(health.body.checks.mqtt?.detail).toMatch(/CERTIFICATE_REQUIRED/);
    expect(s.events().some((e) => /CERTIFICATE_REQUIRED/.test(String(e.code)))).toBe(
      true,
    );
  });

  const refusals: Array<[string, keyof Listeners, string, string]> = [
    [
      'signed by an unknown CA',
      'foreign',
      '127.0.0.1',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    ],
    ['for another name', 'otherAddress', '127.0.0.2', 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ['that has expired', 'expired', '127.0.0.1', 'CERT_HAS_EXPIRED'],
  ];

  it.each(refusals)(
    'refuses a broker certificate %s and shows the cause in /health and the log',
    async (_what, listener, host, code) => {
      const s = await startServer(listener, `mqtts://${host}:${ports[listener]}`, {
        MQTT_CA_FILE: pki.caFile,
      });
      const health = await waitForHealth(s, (h) => mqttError(h)?.code === code);

      expect(health.status).toBe(503);
      expect(health.body.checks.mqtt?.status).toBe('failing');
      expect(String(health.body.checks.mqtt?.detail)).toContain(code);
      const logged = s
        .events()
        .find((e) => e.msg === 'mqtt connection lost' && e.code === code);
      expect(logged?.level).toBe(40);
      expect(logged?.reason).toEqual(mqttError(health)?.message);
    },
  );
});

function tlsListener(
  port: number,
  host: string,
  caFile: string,
  files: CertFiles,
  requireClientCertificate = false,
): string {
  return [
    `listener ${port} ${host}`,
    `cafile ${caFile}`,
    `certfile ${files.cert}`,
    `keyfile ${files.key}`,
    `require_certificate ${requireClientCertificate}`,
  ].join('\n');
}

function mqttError(h: HealthAnswer): { code?: string; message?: string } | undefined {
  return h.body.checks.mqtt?.lastError as { code?: string; message?: string } | undefined;
}

async function waitForHealth(
  server: ServerProcess,
  ok: (h: HealthAnswer) => boolean,
): Promise<HealthAnswer> {
  return waitFor(
    async () => {
      const h = await server.health();
      return ok(h) ? h : undefined;
    },
    15_000,
    '/health to answer as expected',
  );
}
