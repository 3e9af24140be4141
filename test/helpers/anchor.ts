/**
 * Helpers of the anchoring tests: the `heru` CLI as a child process, a queue name of
 * the test's own, removing that queue's keys from the shared Redis (as if Redis had
 * restarted empty, without touching anyone else's keys), and counting pins and
 * ledger messages in the local backends.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { Pool } from '../../src/db/pool.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A queue name no other test uses. */
export const queueName = (): string => `heru-test-${randomBytes(5).toString('hex')}`;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `heru <args>` from the repository with `env` over a neutral environment. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Deletes every Redis key of queue `name` under `prefix`; returns how many. */
export async function deleteQueueKeys(name: string, prefix = 'heru'): Promise<number> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${prefix}:${name}:*`,
        'COUNT',
        500,
      );
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Lines of the local store's pin log, by CID. */
export async function pinsByCid(dataDir: string): Promise<Map<string, number>> {
  const text = await readFile(join(dataDir, 'ipfs', 'pins.log'), 'utf8').catch(() => '');
  const counts = new Map<string, number>();
  for (const line of text.split('\n').filter(Boolean)) {
    const cid = line.split(' ')[1]!;
    counts.set(cid, (counts.get(cid) ?? 0) + 1);
  }
  return counts;
}

/** Messages on the local ledger, by the batch id they anchor. */
export async function ledgerMessagesByBatch(pool: Pool): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ message: Buffer }>(
    'select message from local_ledger_message',
  );
  const counts = new Map<string, number>();
  for (const r of rows) {
    const batch = (JSON.parse(r.message.toString('utf8')) as { batch: string }).batch;
    counts.set(batch, (counts.get(batch) ?? 0) + 1);
  }
  return counts;
}

/** Inserts `n` readings of one device straight into PostgreSQL (not through MQTT). */
export async function insertReadings(
  pool: Pool,
  n: number,
  device = 'bench-fridge-01',
): Promise<void> {
  await pool.query(
    `insert into reading (device_id, time, time_source, received_at, temperature_c, humidity_pct,
                          quality, raw_message_id)
     select $2, now() - make_interval(secs => g), 'server', now(), 4 + (g % 40) / 10.0, 45.5,
            'good', g
     from generate_series(1, $1) g`,
    [n, device],
  );
}
