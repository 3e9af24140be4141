import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBatch } from '../src/anchor/batches.js';
import { sealBatch } from '../src/anchor/seal.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import {
  REDIS_URL,
  REPO_ROOT,
  deleteQueueKeys,
  insertReadings,
  ledgerMessagesByBatch,
  pinsByCid,
  queueName,
} from './helpers/anchor.js';
import { waitFor } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const log = createLogger('silent');

describe('a worker killed with SIGKILL in the middle of anchoring a batch', () => {
  let db: TestDatabase;
  let pool: Pool;
  let dataDir: string;
  const queue = queueName();
  const children = new Set<ChildProcess>();

  /** Starts a worker child; resolves with it once spawned. */
  function startChild(crashAfter: '' | 'pin' | 'submit'): ChildProcess {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/helpers/anchorWorkerChild.ts'],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: db.url.toString(),
          REDIS_URL,
          ANCHOR_QUEUE: queue,
          HERU_DATA_DIR: dataDir,
          CRASH_AFTER: crashAfter,
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  }

  const exited = (child: ChildProcess): Promise<NodeJS.Signals | null> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(child.signalCode);
      else child.once('exit', (_code, signal) => resolve(signal));
    });

  async function sealOne(): Promise<string> {
    await insertReadings(pool, 10, `crash-${Date.now()}`);
    const b = await sealBatch(pool, {
      mode: 'full',
      max: 10,
      windowSeconds: 3600,
      content: 'leaves',
    });
    return b!.id;
  }

  async function stateOf(id: string): Promise<string> {
    return (await getBatch(pool, id))!.state;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, log, { max: 4 });
    await migrate(pool, log);
    dataDir = mkdtempSync(join(tmpdir(), 'heru-crash-'));
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await pool?.end();
    await db?.drop();
    await deleteQueueKeys(queue);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('between pinning and submitting: ends with one pin and one ledger message', async () => {
    const id = await sealOne();
    const first = startChild('pin');
    expect(await exited(first)).toBe('SIGKILL');
    const killed = (await getBatch(pool, id))!;
    expect(killed.state).toBe('pending');
    expect(killed.manifest_cid).not.toBeNull();
    expect((await pinsByCid(dataDir)).get(killed.manifest_cid!)).toBe(1);
    expect((await ledgerMessagesByBatch(pool)).get(id)).toBeUndefined();

    const second = startChild('');
    await waitFor(
      async () => ((await stateOf(id)) === 'anchored' ? true : undefined),
      30_000,
    );
    second.kill('SIGTERM');
    await exited(second);
    expect((await pinsByCid(dataDir)).get(killed.manifest_cid!)).toBe(1);
    expect((await ledgerMessagesByBatch(pool)).get(id)).toBe(1);
  });

  it('between submitting and recording: ends with one pin and one ledger message', async () => {
    const id = await sealOne();
    const first = startChild('submit');
    expect(await exited(first)).toBe('SIGKILL');
    const killed = (await getBatch(pool, id))!;
    expect(killed.state).toBe('submitted');
    expect((await ledgerMessagesByBatch(pool)).get(id)).toBe(1);

    const second = startChild('');
    await waitFor(
      async () => ((await stateOf(id)) === 'anchored' ? true : undefined),
      30_000,
    );
    second.kill('SIGTERM');
    await exited(second);
    const anchored = (await getBatch(pool, id))!;
    expect(anchored.transaction_id).toBe(killed.transaction_id);
    expect((await pinsByCid(dataDir)).get(anchored.manifest_cid!)).toBe(1);
    expect((await ledgerMessagesByBatch(pool)).get(id)).toBe(1);
    const { rows } = await pool.query<{ seq: string }>(
      'select sequence_number::text as seq from local_ledger_message where transaction_id = $1',
      [anchored.transaction_id],
    );
    expect(anchored.sequence_number).toBe(rows[0]!.seq);
  });
});
