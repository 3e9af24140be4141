import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getBatch, retryFailedBatches } from '../src/anchor/batches.js';
import { insertReadings, runCli } from './helpers/anchor.js';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { startMockHedera, type MockHederaNetwork } from './mocks/hederaNetwork.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

interface Health {
  checks: Record<string, { status: string; detail?: string }>;
}

describe('anchoring on Hedera (a local network speaking its gRPC and mirror protocols)', () => {
  let db: TestDatabase;
  let net: MockHederaNetwork;
  let dataDir: string;
  let app: TestApp | undefined;

  const start = async (): Promise<TestApp> =>
    startTestApp({
      databaseUrl: db.url,
      roles: { ingest: false, api: true, worker: true },
      env: {
        ...net.env,
        ANCHOR_BATCH_WINDOW: '1',
        ANCHOR_RECONCILE_INTERVAL: '1',
        HERU_DATA_DIR: dataDir,
      },
    });

  const lastBatch = async (a: TestApp): Promise<string> => {
    const { rows } = await a.pool.query<{ id: string }>(
      'select max(id)::text as id from anchor_batch',
    );
    return rows[0]!.id;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    net = await startMockHedera();
    dataDir = mkdtempSync(join(tmpdir(), 'heru-hedera-'));
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  afterAll(async () => {
    await net?.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('waits out BUSY answers and anchors the batch with one message', async () => {
    app = await start();
    net.node.answerNext('BUSY', 'BUSY');
    await insertReadings(app.pool, 5, 'fridge-h1');
    const batch = await waitFor(
      async () => {
        const id = await lastBatch(app!);
        const b = id ? await getBatch(app!.pool, id) : undefined;
        return b?.state === 'anchored' ? b : undefined;
      },
      30_000,
      'an anchored batch',
    );
    expect(batch.ledger).toBe('hedera');
    expect(batch.topic_id).toBe(net.topicId);
    expect(net.node.answered.slice(0, 3)).toEqual(['BUSY', 'BUSY', 'OK']);
    expect(net.ledger.messages(net.topicId)).toHaveLength(1);
  });

  it('has heru verify read the message through the mirror node and accept the reading', async () => {
    app = await start();
    const { rows } = await app.pool.query<{ id: string }>(
      "select id::text as id from reading where device_id = 'fridge-h1' limit 1",
    );
    const out = await runCli(['verify', rows[0]!.id], {
      DATABASE_URL: db.url.toString(),
      HERU_DATA_DIR: dataDir,
      HEDERA_MIRROR_URL: net.env.HEDERA_MIRROR_URL!,
    });
    expect(out.stdout).toMatch(/holds +ledger: message 1 of topic/);
    expect(out.code).toBe(0);
  });

  it('pauses anchoring on INVALID_SIGNATURE, says why in /health, and resumes after --retry-failed', async () => {
    app = await start();
    net.node.answerNext('INVALID_SIGNATURE');
    await insertReadings(app.pool, 5, 'fridge-h2');
    const refused = await waitFor(
      async () => {
        const b = await getBatch(app!.pool, await lastBatch(app!));
        return b?.state === 'failed_permanent' ? b : undefined;
      },
      30_000,
      'a refused batch',
    );
    expect(refused.last_error).toMatch(/INVALID_SIGNATURE/);
    const health = (await (await fetch(`${app.baseUrl}/health`)).json()) as Health;
    expect(health.checks.anchor!.status).toBe('failing');
    expect(health.checks.anchor!.detail).toMatch(/paused.*HEDERA_PRIVATE_KEY/);
    expect(net.ledger.messages(net.topicId)).toHaveLength(1);
    await app.close();

    // The operator fixed the key; `heru worker --retry-failed` does this, then runs.
    app = await start();
    expect(await retryFailedBatches(app.pool)).toBe(1);
    await waitFor(
      async () =>
        (await getBatch(app!.pool, refused.id))?.state === 'anchored' ? true : undefined,
      30_000,
      'the refused batch to be anchored',
    );
    expect(net.ledger.messages(net.topicId)).toHaveLength(2);
  });
});
