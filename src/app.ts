import type { FastifyInstance } from 'fastify';
import { readMqttConfig, requireDatabaseUrl, type Config } from './config/config.js';
import type { Env } from './config/env.js';
import { checkPostgres } from './db/health.js';
import { isTransient } from './db/errors.js';
import { ensurePartitions, migrate } from './db/migrate.js';
import { createPool, type Pool } from './db/pool.js';
import { Health } from './health.js';
import { buildServer } from './http/server.js';
import { IngestService } from './ingest/service.js';
import { DeviceRegistryCache } from './devices/registryCache.js';
import { registryGate } from './devices/deviceGate.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { NotificationHub } from './notify/hub.js';
import { startAnchoring, type Anchoring } from './anchor/anchoring.js';
import { Alarms } from './alarms/service.js';
import { readAuthConfig } from './auth/authConfig.js';
import { credentialsHealth } from './auth/credentials.js';

/** Which parts this process runs; `serve` runs them all. */
export interface Roles {
  ingest: boolean;
  api: boolean;
  /** The anchor worker: seals batches and anchors them (default off). */
  worker?: boolean;
}

export interface App {
  pool: Pool;
  metrics: Metrics;
  http: FastifyInstance;
  ingest?: IngestService;
  /** The device registry as ingest holds it (with ingest only). */
  devices?: DeviceRegistryCache;
  anchoring: Anchoring;
  /** The notification hub: the AlarmListener to hand to the rule engine. */
  notify: NotificationHub;
  /** Rules and alarms: the engine (with ingest), the watchdog, the event notifier. */
  alarms: Alarms;
  /** Stops every part; every step runs even when one fails. */
  close(): Promise<void>;
}

const PARTITION_EVERY_MS = 12 * 3600 * 1000;

/**
 * Starts the parts of one process: migrations, then ingest and the HTTP server.
 * A process that ingests without the API still answers /health, /ready and /metrics.
 */
export async function startApp(
  roles: Roles,
  config: Config,
  env: Env,
  log: Logger,
): Promise<App> {
  const mqtt = roles.ingest ? readMqttConfig(env) : undefined;
  const pool = createPool(requireDatabaseUrl(config), log, {
    applicationName: 'heru',
    max: 10,
  });
  const metrics = createMetrics();
  const health = new Health();
  health.register('postgres', () => checkPostgres(pool));
  health.register('credentials', () => credentialsHealth(env));
  let ready = false;

  await waitForDatabase(() => migrate(pool, log), log);

  // Before ingest: the rule engine hands its alarm events to the hub. The hub and its
  // delivery worker have connections of their own, so that an alarm does not queue
  // for a connection behind ingest's commits and the rule engine's turns.
  const notifyPool = createPool(requireDatabaseUrl(config), log, {
    applicationName: 'heru-notify',
    max: 3,
  });
  const notify = new NotificationHub({
    pool: notifyPool,
    config: config.notify,
    log,
    registry: metrics.registry,
  });
  notify.registerHealth(health);
  notify.start();

  const anchoring = await startAnchoring({
    worker: roles.worker === true,
    ingest: roles.ingest,
    pool,
    config,
    env,
    log,
    registry: metrics.registry,
    health,
  });

  const alarms = new Alarms({
    pool,
    config: config.alarms,
    log,
    health,
    ingest: roles.ingest,
    registry: metrics.registry,
  });
  alarms.notifier.addListener(notify);
  await alarms.start();

  let ingest: IngestService | undefined;
  let partitions: NodeJS.Timeout | undefined;
  let devices: DeviceRegistryCache | undefined;
  if (mqtt) {
    devices = new DeviceRegistryCache(pool, log.child({ part: 'devices' }));
    await devices.start();
    ingest = await IngestService.create({
      pool,
      mqtt,
      ingest: config.ingest,
      metrics,
      log,
      gate: registryGate(devices, config.ingest.requireDeviceRegistration === true),
    });
    ingest.registerHealth(health);
    anchoring.attach(ingest.pipeline);
    alarms.attach(ingest.pipeline);
    ingest.start();
    partitions = setInterval(() => {
      ensurePartitions(pool).catch((err: Error) =>
        log.warn({ err: err.message }, 'partition upkeep failed'),
      );
    }, PARTITION_EVERY_MS);
    partitions.unref();
  }

  const http = buildServer({
    pool,
    log,
    health,
    metrics,
    ready: () => ready,
    api: roles.api,
    notify,
    notifyConfig: config.notify,
    alarms: alarms.notifier,
    auth: readAuthConfig(env),
  });
  await http.listen({ port: config.http.port, host: config.http.host });
  ready = true;
  log.info({ roles, port: config.http.port }, 'heru started');

  return {
    pool,
    metrics,
    http,
    ...(ingest ? { ingest } : {}),
    ...(devices ? { devices } : {}),
    anchoring,
    notify,
    alarms,
    async close() {
      ready = false;
      clearInterval(partitions);
      const steps: Array<[string, () => Promise<unknown>]> = [
        ['ingest', async () => ingest?.close()],
        ['devices', async () => devices?.close()],
        ['alarms', () => alarms.close()],
        ['anchoring', () => anchoring.close()],
        ['http', () => http.close()],
        ['notify', () => notify.close()],
        ['postgres', () => Promise.all([pool.end(), notifyPool.end()])],
      ];
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (err) {
          log.error({ part: name, err: (err as Error).message }, 'close step failed');
        }
      }
      log.info('heru stopped');
    },
  };
}

/** Runs `fn`, retrying while PostgreSQL is unreachable (it may start after us). */
async function waitForDatabase<T>(fn: () => Promise<T>, log: Logger): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || attempt >= 60) throw err;
      const wait = Math.min(10_000, 500 * 2 ** Math.min(attempt, 5));
      log.warn(
        { err: (err as Error).message, retryInMs: wait },
        'waiting for PostgreSQL',
      );
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
