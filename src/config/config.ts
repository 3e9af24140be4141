import { hostname } from 'node:os';
import { ConfigError } from './ConfigError.js';
import { type Env, int, oneOf, str, url } from './env.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface MqttConfig {
  /** `mqtt://` or `mqtts://` URL of the broker; user and password may be in it. */
  url: URL;
  /** PEM file of the CA that signed the broker's certificate (`MQTT_CA_FILE`). */
  caFile?: string;
  /** Client certificate and key (PEM) for brokers that ask for one. */
  certFile?: string;
  keyFile?: string;
  username?: string;
  password?: string;
  /** Fixed client id of this ingest instance; its persistent session hangs on it. */
  clientId: string;
  /** When set, subscribe through `$share/{group}/…` so instances share the load. */
  sharedGroup?: string;
  /** Largest number of unacknowledged QoS 1 messages the broker may send us (MQTT 5). */
  receiveMaximum: number;
  /** Seconds between keep-alive pings, default 30. */
  keepaliveSeconds: number;
}

export interface IngestConfig {
  /** Most messages in one commit, default 2000. */
  batchSize: number;
  /** Milliseconds a partial batch waits for more messages, default 5. */
  lingerMs: number;
  /** Messages held in memory before the socket is paused, default 20000. */
  maxPending: number;
  /** Largest payload accepted, in bytes, default 262144. */
  maxPayloadBytes: number;
  /** Seconds a device clock may run ahead of the server and still be trusted, default 300. */
  maxClockAheadSeconds: number;
  /** Seconds of the window within which identical timeless payloads are one reading, default 15. */
  timelessDedupSeconds: number;
}

/** Settings every role needs; MQTT settings are read by the roles that use them. */
export interface Config {
  databaseUrl: URL;
  ingest: IngestConfig;
  http: { port: number; host: string };
  logLevel: LogLevel;
}

const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

/** Reads and checks every setting once; throws ConfigError on the first bad one. */
export function readConfig(env: Env): Config {
  return {
    databaseUrl: readDatabaseUrl(env),
    ingest: readIngest(env),
    http: {
      port: int(env, 'HTTP_PORT', 8000, { min: 0, max: 65535 }),
      host: str(env, 'HTTP_HOST') ?? '0.0.0.0',
    },
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
  };
}

function readDatabaseUrl(env: Env): URL {
  const u = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  if (!u) {
    throw new ConfigError(
      'DATABASE_URL',
      'a URL such as postgres://user@127.0.0.1:5432/heru',
    );
  }
  return u;
}

/** MQTT_URL, or the older MQTT_BROKER (host or URL) with MQTT_PORT. */
function readMqttUrl(env: Env): URL {
  const fromUrl = url(env, 'MQTT_URL', ['mqtt:', 'mqtts:']);
  if (fromUrl) return fromUrl;
  const broker = str(env, 'MQTT_BROKER');
  if (broker === undefined) {
    throw new ConfigError(
      'MQTT_URL',
      'a URL such as mqtts://broker.example:8883 (or MQTT_BROKER with MQTT_PORT)',
    );
  }
  const port = int(env, 'MQTT_PORT', 1883, { min: 1, max: 65535 });
  const withScheme = broker.includes('://') ? broker : `mqtt://${broker}`;
  const u = url({ MQTT_BROKER: withScheme }, 'MQTT_BROKER', [
    'mqtt:',
    'mqtts:',
    'tcp:',
    'ssl:',
  ]);
  if (!u) throw new ConfigError('MQTT_BROKER', 'a host name or address', broker);
  const scheme = u.protocol === 'ssl:' || u.protocol === 'mqtts:' ? 'mqtts:' : 'mqtt:';
  return new URL(`${scheme}//${u.host.split(':')[0]}:${u.port || port}`);
}

/** The broker settings of the ingest role. */
export function readMqttConfig(env: Env): MqttConfig {
  const u = readMqttUrl(env);
  const cfg: MqttConfig = {
    url: u,
    clientId: str(env, 'MQTT_CLIENT_ID') ?? `heru-ingest-${hostname()}`,
    receiveMaximum: int(env, 'MQTT_RECEIVE_MAXIMUM', 1000, { min: 1, max: 65535 }),
    keepaliveSeconds: int(env, 'MQTT_KEEPALIVE', 30, { min: 5, max: 3600 }),
  };
  const optional = {
    caFile: str(env, 'MQTT_CA_FILE'),
    certFile: str(env, 'MQTT_CERT_FILE'),
    keyFile: str(env, 'MQTT_KEY_FILE'),
    username:
      str(env, 'MQTT_USERNAME') ??
      (u.username ? decodeURIComponent(u.username) : undefined),
    password:
      str(env, 'MQTT_PASSWORD') ??
      (u.password ? decodeURIComponent(u.password) : undefined),
    sharedGroup: str(env, 'MQTT_SHARED_GROUP'),
  };
  for (const [k, v] of Object.entries(optional))
    if (v !== undefined) Object.assign(cfg, { [k]: v });
  if ((cfg.certFile === undefined) !== (cfg.keyFile === undefined)) {
    throw new ConfigError(
      'MQTT_KEY_FILE',
      'set together with MQTT_CERT_FILE (both or neither)',
    );
  }
  if (cfg.clientId.length > 128 || !/^[\w.:-]+$/.test(cfg.clientId)) {
    throw new ConfigError(
      'MQTT_CLIENT_ID',
      'letters, digits, ".", ":", "_" or "-", at most 128',
      cfg.clientId,
    );
  }
  return cfg;
}

function readIngest(env: Env): IngestConfig {
  return {
    batchSize: int(env, 'INGEST_BATCH_SIZE', 2000, { min: 1, max: 50_000 }),
    lingerMs: int(env, 'INGEST_LINGER_MS', 5, { min: 0, max: 10_000 }),
    maxPending: int(env, 'INGEST_MAX_PENDING', 20_000, { min: 1, max: 1_000_000 }),
    maxPayloadBytes: int(env, 'MAX_PAYLOAD_BYTES', 262_144, { min: 64, max: 16_777_216 }),
    maxClockAheadSeconds: int(env, 'DEVICE_CLOCK_MAX_AHEAD', 300, {
      min: 0,
      max: 86_400,
    }),
    timelessDedupSeconds: int(env, 'TIMELESS_DEDUP_WINDOW', 15, { min: 1, max: 3600 }),
  };
}
