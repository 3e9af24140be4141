import { hostname } from 'node:os';
import { ConfigError } from './ConfigError.js';
import { type Env, int, oneOf, str, url } from './env.js';
import { readNotifyConfig, type NotifyConfig } from '../notify/config.js';
import { readAlarmConfig, type AlarmConfig } from '../alarms/config.js';

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
  /** MQTT_PROTOCOL: 5 (`5`, default) or 4 (`3.1.1`, for brokers without MQTT 5). */
  protocolVersion: 4 | 5;
}

export interface IngestConfig {
  /**
   * Most readings in one commit (a message counts as its readings, at least one),
   * default 5000. Each commit also updates the counters of every device in it; larger
   * commits pay that once for more readings.
   */
  batchSize: number;
  /** Milliseconds a partial batch waits for more messages, default 5. */
  lingerMs: number;
  /**
   * Readings (counted as for batchSize) held in memory before the socket is paused,
   * default 20000.
   */
  maxPending: number;
  /** Largest payload accepted, in bytes, default 262144. */
  maxPayloadBytes: number;
  /** Seconds a device clock may run ahead of the server and still be trusted, default 300. */
  maxClockAheadSeconds: number;
  /** Seconds of the window within which identical timeless payloads are one reading, default 15. */
  timelessDedupSeconds: number;
  /**
   * Quarantine (DEVICE_UNKNOWN) the messages of devices nobody registered
   * (REQUIRE_DEVICE_REGISTRATION), default false: a newcomer publishes unregistered.
   */
  requireDeviceRegistration?: boolean;
}

/** How readings are gathered into batches and anchored, and where the queue lives. */
export interface AnchorConfig {
  /** Seconds the oldest unanchored reading waits before its batch is sealed, default 10. */
  batchWindowSeconds: number;
  /** Most readings in one batch, default 10000; 1 anchors every reading alone. */
  batchMax: number;
  /** What the pinned manifest lists besides the leaves: `leaves` (default) or `readings`. */
  manifestContent: 'leaves' | 'readings';
  /** Batches one worker process anchors at once, default 4. */
  concurrency: number;
  /** Seconds between reconciler passes that re-queue work the queue lost, default 30. */
  reconcileSeconds: number;
  /** Seconds a worker holds a batch without renewing its claim, default 30. */
  leaseSeconds: number;
  /** Redis for the job queue; without it an in-process queue is used. */
  redisUrl?: URL;
  /** BullMQ queue name, default `heru-anchor`. */
  queueName: string;
  /** Folder of the embedded stores (local IPFS store), default `./.heru`. */
  dataDir: string;
}

/** Settings every role needs; MQTT settings are read by the roles that use them. */
export interface Config {
  /** DATABASE_URL; absent, `serve` starts the embedded database (src/embedded). */
  databaseUrl?: URL;
  ingest: IngestConfig;
  anchor: AnchorConfig;
  notify: NotifyConfig;
  alarms: AlarmConfig;
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
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  return {
    ...(databaseUrl ? { databaseUrl } : {}),
    ingest: readIngest(env),
    anchor: readAnchor(env),
    notify: readNotifyConfig(env),
    alarms: readAlarmConfig(env),
    http: {
      port: int(env, 'HTTP_PORT', 8000, { min: 0, max: 65535 }),
      host: str(env, 'HTTP_HOST') ?? '0.0.0.0',
    },
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
  };
}

/** DATABASE_URL, for the commands that need a server of their own (`migrate`, …). */
export function requireDatabaseUrl(config: Config): URL {
  const u = config.databaseUrl;
  if (!u) {
    throw new ConfigError(
      'DATABASE_URL',
      'a URL such as postgres://user@127.0.0.1:5432/heru',
    );
  }
  return u;
}

/** True when neither MQTT_URL nor MQTT_BROKER names a broker: `serve` embeds one. */
export function mqttUnset(env: Env): boolean {
  return str(env, 'MQTT_URL') === undefined && str(env, 'MQTT_BROKER') === undefined;
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

/** Ingest's fixed client id: MQTT_CLIENT_ID, default `heru-ingest-{hostname}`. */
export function mqttClientId(env: Env): string {
  return str(env, 'MQTT_CLIENT_ID') ?? `heru-ingest-${hostname()}`;
}

/** The broker settings of the ingest role. */
export function readMqttConfig(env: Env): MqttConfig {
  const u = readMqttUrl(env);
  const cfg: MqttConfig = {
    url: u,
    clientId: mqttClientId(env),
    receiveMaximum: int(env, 'MQTT_RECEIVE_MAXIMUM', 1000, { min: 1, max: 65535 }),
    keepaliveSeconds: int(env, 'MQTT_KEEPALIVE', 30, { min: 5, max: 3600 }),
    protocolVersion:
      oneOf(env, 'MQTT_PROTOCOL', ['5', '3.1.1'] as const, '5') === '5' ? 5 : 4,
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
    batchSize: int(env, 'INGEST_BATCH_SIZE', 5000, { min: 1, max: 50_000 }),
    lingerMs: int(env, 'INGEST_LINGER_MS', 5, { min: 0, max: 10_000 }),
    maxPending: int(env, 'INGEST_MAX_PENDING', 20_000, { min: 1, max: 1_000_000 }),
    maxPayloadBytes: int(env, 'MAX_PAYLOAD_BYTES', 262_144, { min: 64, max: 16_777_216 }),
    maxClockAheadSeconds: int(env, 'DEVICE_CLOCK_MAX_AHEAD', 300, {
      min: 0,
      max: 86_400,
    }),
    timelessDedupSeconds: int(env, 'TIMELESS_DEDUP_WINDOW', 15, { min: 1, max: 3600 }),
    requireDeviceRegistration:
      oneOf(env, 'REQUIRE_DEVICE_REGISTRATION', ['true', 'false'] as const, 'false') ===
      'true',
  };
}

function readAnchor(env: Env): AnchorConfig {
  const redisUrl = url(env, 'REDIS_URL', ['redis:', 'rediss:']);
  const queueName = str(env, 'ANCHOR_QUEUE') ?? 'heru-anchor';
  if (!/^[\w.-]{1,100}$/.test(queueName)) {
    throw new ConfigError('ANCHOR_QUEUE', 'letters, digits, ".", "_" or "-"', queueName);
  }
  return {
    batchWindowSeconds: int(env, 'ANCHOR_BATCH_WINDOW', 10, { min: 1, max: 86_400 }),
    batchMax: int(env, 'ANCHOR_BATCH_MAX', 10_000, { min: 1, max: 1_000_000 }),
    manifestContent: oneOf(
      env,
      'ANCHOR_MANIFEST',
      ['leaves', 'readings'] as const,
      'leaves',
    ),
    concurrency: int(env, 'ANCHOR_CONCURRENCY', 4, { min: 1, max: 64 }),
    reconcileSeconds: int(env, 'ANCHOR_RECONCILE_INTERVAL', 30, { min: 1, max: 3600 }),
    leaseSeconds: int(env, 'ANCHOR_LEASE_SECONDS', 30, { min: 2, max: 3600 }),
    ...(redisUrl ? { redisUrl } : {}),
    queueName,
    dataDir: str(env, 'HERU_DATA_DIR') ?? '.heru',
  };
}
