import type { HealthEntry } from '../health.js';
import type { Pool } from './pool.js';

/** PostgreSQL answers a trivial query. */
export async function checkPostgres(pool: Pool): Promise<HealthEntry> {
  const started = Date.now();
  try {
    await pool.query('select 1');
    return { status: 'ok', latencyMs: Date.now() - started };
  } catch (err) {
    return {
      status: 'failing',
      detail: `PostgreSQL does not answer: ${(err as Error).message}`,
    };
  }
}
