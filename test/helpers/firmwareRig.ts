/**
 * What the firmware and mapping tests share: a database, a Mosquitto and the server
 * of their own, a publisher, and waits on what was stored.
 */
import mqtt from 'mqtt';
import { expect } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { createLogger } from '../../src/log.js';
import { startTestApp, waitFor, type TestApp } from './app.js';
import { startBroker, type TestBroker } from './mosquitto.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';

export interface RawRow {
  id: string;
  device_id: string | null;
  outcome: string;
  reason: string | null;
  detail: string | null;
  reading_count: number;
}

export interface ReadingRow {
  sensor: string;
  time: Date;
  time_source: string;
  device_time: Date | null;
  received_at: Date;
  temperature_c: number | null;
  humidity_pct: number | null;
  rssi_dbm: number | null;
  battery_pct: number | null;
  quality: string;
  flags: string[];
}

export interface Rig {
  db: TestDatabase;
  broker: TestBroker;
  app: TestApp;
  publisher: mqtt.MqttClient;
  /** Publishes at QoS 1 and waits for the raw message of exactly these bytes. */
  publish(topic: string, payload: string, opts?: { retain?: boolean }): Promise<RawRow>;
  /** The readings of a raw message, by sensor then time. */
  readingsOf(raw: RawRow): Promise<ReadingRow[]>;
  /** `fetch` of an `/api/v1` path of the server, with an admin token. */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** Stops the server and starts it again with a new MQTT client id (a new session). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts everything. `before` runs on the migrated database before the server starts
 * (device settings the server must load at start).
 */
export async function startRig(
  before?: (pool: Pool) => Promise<unknown>,
  env: Record<string, string> = {},
): Promise<Rig> {
  const db = await createTestDatabase();
  if (before) {
    const log = createLogger('silent');
    const pool = createPool(db.url, log, { max: 2 });
    try {
      await migrate(pool, log);
      await before(pool);
    } finally {
      await pool.end();
    }
  }
  const broker = await startBroker();
  const start = async (): Promise<TestApp> => {
    const started = await startTestApp({ databaseUrl: db.url, mqttUrl: broker.url, env });
    await waitFor(
      async () => ((await fetch(`${started.baseUrl}/health`)).ok ? true : undefined),
      15_000,
      '/health 200',
    );
    return started;
  };
  let app = await start();
  const publisher = await mqtt.connectAsync(broker.url, {
    clientId: `pub-${app.clientId}`,
  });

  return {
    db,
    broker,
    get app() {
      return app;
    },
    publisher,
    api(path, init) {
      return app.api(path, init);
    },
    async restart() {
      await app.close();
      app = await start();
    },
    async publish(topic, payload, opts = {}) {
      const before = await lastRawId(app.pool, topic, payload);
      await publisher.publishAsync(topic, payload, {
        qos: 1,
        retain: opts.retain ?? false,
      });
      return rawMessage(app.pool, topic, payload, before);
    },
    async readingsOf(raw) {
      const { rows } = await app.pool.query<ReadingRow>(
        `select sensor, time, time_source, device_time, received_at, temperature_c,
                humidity_pct, rssi_dbm, battery_pct, quality, flags
           from reading where raw_message_id = $1 order by sensor, time`,
        [raw.id],
      );
      return rows;
    },
    async close() {
      await publisher.endAsync();
      await app.close();
      await broker.destroy();
      await db.drop();
    },
  };
}

async function lastRawId(pool: Pool, topic: string, payload: string): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `select coalesce(max(id), 0)::text as id from raw_message where topic = $1 and payload = $2`,
    [topic, Buffer.from(payload)],
  );
  return rows[0]!.id;
}

/**
 * Waits for a raw message of `payload` on `topic` newer than the one of id `after`,
 * stored whatever its outcome.
 */
export async function rawMessage(
  pool: Pool,
  topic: string,
  payload: string,
  after = '0',
): Promise<RawRow> {
  const row = await waitFor(
    async () => {
      const { rows } = await pool.query<RawRow>(
        `select id::text, device_id, outcome, reason, detail, reading_count
           from raw_message where topic = $1 and payload = $2 and id > $3::bigint
          order by id desc limit 1`,
        [topic, Buffer.from(payload), after],
      );
      return rows[0];
    },
    10_000,
    `the raw message on ${topic}`,
  );
  expect(row).toBeDefined();
  return row;
}

/** `ms` as the wall-clock time of `zone`, ISO 8601 without an offset, to the second. */
export function localTime(ms: number, zone: string): string {
  const f = new Intl.DateTimeFormat('sv-SE', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  return f.format(new Date(ms)).replace(' ', 'T');
}

/** `ms` cut to the whole second, as devices that print seconds send it. */
export function toSecond(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}
