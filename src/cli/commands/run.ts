import type { App, Roles } from '../../app.js';
import { readConfig } from '../../config/config.js';
import { loadEnv } from '../../config/env.js';
import { assertDataDirWritable } from '../../config/dataDir.js';
import { assertPortFree, listenError } from '../../config/portInUse.js';
import { migrate } from '../../db/migrate.js';
import { createPool } from '../../db/pool.js';
import { databaseUrlOf } from '../../embedded/databaseUrl.js';
import { startEmbedded } from '../../embedded/embedded.js';
import type { Simulation } from '../../embedded/simulation.js';
import { runUntilSignal } from '../../lifecycle.js';
import { createLogger } from '../../log.js';

/**
 * Starts the roles. `serve` embeds what is not configured (src/embedded); the roles
 * run apart need DATABASE_URL, or the embedded database of a running `serve`.
 */
async function run(roles: Roles, simulate = 0): Promise<void> {
  const env = loadEnv();
  const config = readConfig(env);
  const log = createLogger(config.logLevel);
  const http = { host: config.http.host, port: config.http.port };
  await assertPortFree('HTTP_PORT', http);
  await assertDataDirWritable(config.anchor.dataDir);
  // The application's modules load while the embedded parts start (PGlite's start is
  // mostly disk and WebAssembly compilation, off this thread).
  const appModule = import('../../app.js');
  appModule.catch(() => undefined);
  const serve = roles.ingest && roles.api && roles.worker === true;
  const embedded = serve
    ? await startEmbedded(config, env, log, { mqtt: true })
    : {
        config: { ...config, databaseUrl: databaseUrlOf(config) },
        env,
        simulationEnv: env,
        close: noop,
        stopAccepting: () => undefined,
      };
  let app;
  try {
    const { startApp } = await appModule;
    app = await startApp(roles, embedded.config, embedded.env, log).catch((err) => {
      const listening = (err as NodeJS.ErrnoException).syscall === 'listen';
      throw listening ? listenError('HTTP_PORT', http, err) : err;
    });
  } catch (err) {
    await embedded.close();
    throw err;
  }
  const sim: Simulation | undefined =
    simulate > 0
      ? (await import('../../embedded/simulation.js')).startSimulation(
          simulate,
          embedded.simulationEnv,
          log,
        )
      : undefined;
  const started = app;
  runUntilSignal(async () => {
    await sim?.stop();
    // An embedded broker acknowledged what it holds: stop new messages, let ingest
    // commit what is queued, and only then stop ingest and the broker.
    embedded.stopAccepting();
    await drained(started);
    await started.close();
    await embedded.close();
  }, log);
}

const noop = (): Promise<void> => Promise.resolve();

/** Waits (10 s at most) until ingest has had nothing pending for 300 ms. */
async function drained(app: App): Promise<void> {
  const pipeline = app.ingest?.pipeline;
  if (!pipeline) return;
  const deadline = Date.now() + 10_000;
  let quiet = 0;
  while (quiet < 3 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    quiet = pipeline.status().pending === 0 ? quiet + 1 : 0;
  }
}

const SERVE_USAGE = 'heru serve [--simulate <devices>]';

/** `--simulate N`: N simulated devices (1 to 1000) publish into the server. */
function simulateCount(args: readonly string[]): number {
  if (args.length === 0) return 0;
  const n = Number(args[1]);
  if (
    args[0] !== '--simulate' ||
    args.length !== 2 ||
    !Number.isInteger(n) ||
    n < 1 ||
    n > 1000
  ) {
    throw new Error(`usage: ${SERVE_USAGE} (devices: a whole number from 1 to 1000)`);
  }
  return n;
}

export const runServe = (args: string[] = []): Promise<void> =>
  run({ ingest: true, api: true, worker: true }, simulateCount(args));
export const runIngest = (): Promise<void> => run({ ingest: true, api: false });
export const runApi = (): Promise<void> => run({ ingest: false, api: true });

export async function runMigrate(): Promise<void> {
  const config = readConfig(loadEnv());
  const log = createLogger(config.logLevel);
  const pool = createPool(databaseUrlOf(config), log, { max: 1 });
  try {
    const applied = await migrate(pool, log);
    console.log(
      applied.length
        ? `applied migrations ${applied.join(', ')}`
        : 'database is up to date',
    );
  } finally {
    await pool.end();
  }
}
