import net from 'node:net';
import mqtt from 'mqtt';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/app.js';
import {
  readingPayload,
  readingsTopic,
  startBurst,
  waitUntilSteady,
  type Burst,
} from './helpers/burst.js';
import { waitForHealth } from './helpers/health.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { ServerProcess, type HealthAnswer } from './helpers/serverProcess.js';

let db: TestDatabase;
let sql: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  sql = new pg.Pool({ connectionString: db.url.toString(), max: 2 });
  // An idle connection ended by the server (57P01 while databases are dropped) must
  // not surface as an unhandled error; the next query simply takes a new connection.
  sql.on('error', () => undefined);
});

afterAll(async () => {
  await sql?.end();
  await db?.drop();
});

describe('PostgreSQL unreachable', () => {
  const MAX_PENDING = 200;
  let broker: TestBroker;
  let proxy: TcpProxy;
  let server: ServerProcess;
  let storeCount: () => number | undefined;
  let sysWatcher: mqtt.MqttClient;

  beforeAll(async () => {
    broker = await startBroker('sys_interval 1');
    proxy = await TcpProxy.start(db.url.hostname, Number(db.url.port) || 5432);
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    server = await ServerProcess.start({
      databaseUrl: viaProxy,
      mqttUrl: broker.url,
      clientId: 'heru-outage-postgres-ingest',
      env: {
        INGEST_MAX_PENDING: String(MAX_PENDING),
        // A broker window far above the pending limit, so the limit is what holds.
        MQTT_RECEIVE_MAXIMUM: '10000',
        // Short keep-alive: the outage below outlasts 1.5 keep-alive periods.
        MQTT_KEEPALIVE: '5',
      },
    });
    [sysWatcher, storeCount] = await watchStoreCount(broker.url);
    await waitForHealth(server, 200);
  });

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(server.output(200));
  });

  afterAll(async () => {
    await burst?.close();
    await sysWatcher?.endAsync(true);
    await server?.kill();
    await proxy?.close();
    await broker?.destroy();
  });

  // The three steps below run in order on one server: the cut (in the middle of a
  // burst, so commits are in flight), a broker restart while cut, and the way back.
  const burstTotal = 6_000;
  const late = 1_000;
  let burst: Burst | undefined;
  let maxPending = 0;

  it('stops acknowledging while PostgreSQL is unreachable, the broker keeping the messages', async () => {
    burst = await startBurst({
      brokerUrl: broker.url,
      devicePrefix: 'pgo',
      devices: 6,
      readingsPerDevice: burstTotal / 6,
    });
    await waitFor(
      async () => ((await countReadings('pgo')) >= 1_000 ? true : undefined),
      30_000,
      'ingest under way',
    );
    proxy.cut();
    const down = await waitForHealth(server, 503);
    expect(down.body.checks.postgres?.status).toBe('failing');
    // A commit PostgreSQL had already received when the link was cut still lands;
    // from then on nothing more may be stored.
    await sleep(500);
    const storedAtCut = await countReadings('pgo');
    expect(storedAtCut).toBeLessThan(burstTotal);

    await burst.done;
    // A device publishing for the first time while the database is away.
    await publish(broker.url, 'pgo-late', 0, late);
    // Longer than 1.5 keep-alive periods: a paused reader must not blame the broker.
    let last: HealthAnswer | undefined;
    for (const end = Date.now() + 9_000; Date.now() < end; await sleep(250)) {
      last = await server.health();
      expect(last.status).toBe(503);
      expect(last.body.checks.mqtt?.status).toBe('ok');
      maxPending = Math.max(maxPending, Number(last.body.checks.ingest?.pending ?? 0));
    }
    expect(server.running).toBe(true);
    expect(last?.body.checks.postgres?.status).toBe('failing');
    expect(last?.body.checks.ingest?.status).toBe('failing');
    expect(await countReadings('pgo')).toBe(storedAtCut);
    expect(maxPending).toBeGreaterThan(0);
    // Reading stops after the chunk in hand: at most 64 KiB more, of readings over 100 B.
    expect(maxPending).toBeLessThanOrEqual(MAX_PENDING + 65_536 / 100);
    const unstored = burstTotal + late - storedAtCut;
    await until(() => (storeCount() ?? 0) >= unstored, 5_000, 'the broker holding them');
    expect(server.events().filter((e) => e.msg === 'mqtt connection lost')).toEqual([]);
  }, 60_000);

  it('reconnects to a restarted broker while PostgreSQL is still unreachable', async () => {
    await broker.stop();
    // Noticed by the next keep-alive ping, which a paused reader still sends.
    const away = await waitForMqtt(server, 'failing', 15_000);
    expect(away.status).toBe(503);
    await broker.start();

    const back = await waitForMqtt(server, 'ok', 15_000);
    expect(back.status).toBe(503);
    expect(back.body.checks.postgres?.status).toBe('failing');
    expect(server.running).toBe(true);
  }, 40_000);

  it('catches up without a restart once PostgreSQL is back, storing everything once', async () => {
    proxy.restore();
    await waitForHealth(server, 200, 30_000);
    const final = await waitUntilSteady(() => countReadings('pgo'), burstTotal + late);

    expect(final).toBe(burstTotal + late);
    expect(await duplicateKeys('pgo')).toBe(0);
    expect(server.run).toBe(1);
    await until(() => (storeCount() ?? late) < late / 5, 10_000, 'an empty broker');
    console.info(`postgres outage: at most ${maxPending} pending (limit ${MAX_PENDING})`);
  }, 60_000);
});

/** A TCP forwarder on loopback that a test can cut (refuse and drop) and restore. */
class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server;

  private constructor(
    private readonly target: { host: string; port: number },
    public port: number,
  ) {
    this.server = this.listen();
  }

  static async start(host: string, port: number): Promise<TcpProxy> {
    const proxy = new TcpProxy({ host, port }, 0);
    await new Promise<void>((resolve) => proxy.server.once('listening', resolve));
    proxy.port = (proxy.server.address() as net.AddressInfo).port;
    return proxy;
  }

  /** Drops every open connection and refuses new ones, like a server gone away. */
  cut(): void {
    this.server.close();
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.server = this.listen();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((r) => setTimeout(r, 10));
  }

  private listen(): net.Server {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(this.port, '127.0.0.1');
    return server;
  }
}

/** Follows the broker's count of messages it holds ($SYS, every second). */
async function watchStoreCount(
  url: string,
): Promise<[mqtt.MqttClient, () => number | undefined]> {
  const client = await mqtt.connectAsync(url, { clientId: 'heru-outage-sys-watch' });
  let count: number | undefined;
  client.on('message', (_topic, payload) => {
    count = Number(payload.toString());
  });
  await client.subscribeAsync('$SYS/broker/store/messages/count');
  return [client, () => count];
}

/** Publishes readings `first`… of one device at QoS 1 from a fresh connection. */
async function publish(url: string, deviceId: string, first: number, n: number) {
  const client = await mqtt.connectAsync(url, { clientId: `${deviceId}-pub` });
  const base = Date.now() - 24 * 3600 * 1000;
  try {
    for (let i = first; i < first + n; i += 500) {
      const last = Math.min(first + n, i + 500);
      const sends = [];
      for (let seq = i; seq < last; seq += 1)
        sends.push(
          client.publishAsync(readingsTopic(deviceId), readingPayload(seq, 1, base), {
            qos: 1,
          }),
        );
      await Promise.all(sends);
    }
  } finally {
    await client.endAsync();
  }
}

async function countReadings(prefix: string): Promise<number> {
  const { rows } = await sql.query<{ n: number }>(
    `select count(*)::int n from reading where device_id like $1 || '-%'`,
    [prefix],
  );
  return rows[0]!.n;
}

async function duplicateKeys(prefix: string): Promise<number> {
  const { rows } = await sql.query<{ n: number }>(
    `select count(*)::int n from (
       select 1 from reading where device_id like $1 || '-%'
       group by device_id, boot, seq having count(*) > 1) d`,
    [prefix],
  );
  return rows[0]!.n;
}

async function waitForMqtt(
  server: ServerProcess,
  status: 'ok' | 'failing',
  ms: number,
): Promise<HealthAnswer> {
  return waitFor(
    async () => {
      const h = await server.health();
      return h.body.checks.mqtt?.status === status ? h : undefined;
    },
    ms,
    `the mqtt entry of /health to be ${status}`,
  );
}

/** Waits until a condition on this process's own state holds. */
const until = (cond: () => boolean, ms: number, what: string) =>
  waitFor(() => Promise.resolve(cond() ? true : undefined), ms, what);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
