import type { FastifyInstance } from 'fastify';
import { readMqttConfig, type Config } from './config/config.js';
import type { Env } from './config/env.js';
import { checkPostgres } from './db/health.js';
import { isTransient } from './db/errors.js';
import { ensurePartitions, migrate } from './db/migrate.js';
import { createPool, type Pool } from './db/pool.js';
import { Health } from './health.js';
import { buildServer } from './http/server.js';
import { IngestService } from './ingest/service.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';

/** Which parts this process runs; `serve` runs them all. */
export interface Roles {
  ingest: boolean;
  api: boolean;
}

export interface App {
  pool: Pool;
  metrics: Metrics;
  http: FastifyInstance;
  ingest?: IngestService;
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
  const pool = createPool(config.databaseUrl, log, { applicationName: 'heru', max: 10 });
  const metrics = createMetrics();
  const health = new Health();
  health.register('postgres', () => checkPostgres(pool));
  let ready = false;

  await waitForDatabase(() => migrate(pool, log), log);

  let ingest: IngestService | undefined;
  let partitions: NodeJS.Timeout | undefined;
  if (mqtt) {
    ingest = await IngestService.create({
      pool,
      mqtt,
      ingest: config.ingest,
      metrics,
      log,
    });
    ingest.registerHealth(health);
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
  });
  await http.listen({ port: config.http.port, host: config.http.host });
  ready = true;
  log.info({ roles, port: config.http.port }, 'heru started');

  return {
    pool,
    metrics,
    http,
    ...(ingest ? { ingest } : {}),
    async close() {
      ready = false;
      clearInterval(partitions);
      const steps: Array<[string, () => Promise<unknown>]> = [
        ['ingest', async () => ingest?.close()],
        ['http', () => http.close()],
        ['postgres', () => pool.end()],
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
