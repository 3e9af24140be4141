import { startApp, type Roles } from '../../app.js';
import { readConfig } from '../../config/config.js';
import { loadEnv } from '../../config/env.js';
import { migrate } from '../../db/migrate.js';
import { createPool } from '../../db/pool.js';
import { runUntilSignal } from '../../lifecycle.js';
import { createLogger } from '../../log.js';

async function run(roles: Roles): Promise<void> {
  const env = loadEnv();
  const config = readConfig(env);
  const log = createLogger(config.logLevel);
  const app = await startApp(roles, config, env, log);
  runUntilSignal(() => app.close(), log);
}

export const runServe = (): Promise<void> => run({ ingest: true, api: true });
export const runIngest = (): Promise<void> => run({ ingest: true, api: false });
export const runApi = (): Promise<void> => run({ ingest: false, api: true });

export async function runMigrate(): Promise<void> {
  const config = readConfig(loadEnv());
  const log = createLogger(config.logLevel);
  const pool = createPool(config.databaseUrl, log, { max: 1 });
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
