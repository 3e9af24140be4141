import { parseArgs } from 'node:util';
import { startApp } from '../../app.js';
import { retryFailedBatches } from '../../anchor/batches.js';
import { readConfig } from '../../config/config.js';
import { loadEnv } from '../../config/env.js';
import { migrate } from '../../db/migrate.js';
import { createPool } from '../../db/pool.js';
import { runUntilSignal } from '../../lifecycle.js';
import { createLogger } from '../../log.js';
import { databaseUrlOf } from '../../embedded/databaseUrl.js';

const USAGE = `heru worker [--retry-failed]

Runs the anchor worker: seals pending readings into batches, pins each batch's
manifest and orders its root on the ledger. Answers /health, /ready and /metrics.

  --retry-failed   first put the batches the ledger refused for good (after the
                   ledger settings were fixed) back to be prepared again`;

/** `heru worker`: the anchor worker alone. */
export async function runWorker(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'retry-failed': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const env = loadEnv();
  const config = readConfig(env);
  const log = createLogger(config.logLevel);
  if (values['retry-failed']) {
    const pool = createPool(databaseUrlOf(config), log, { max: 1 });
    try {
      await migrate(pool, log);
      const n = await retryFailedBatches(pool);
      console.log(`${n} refused batch${n === 1 ? '' : 'es'} will be prepared again`);
    } finally {
      await pool.end();
    }
  }
  const app = await startApp(
    { ingest: false, api: false, worker: true },
    config,
    env,
    log,
  );
  runUntilSignal(() => app.close(), log);
}
