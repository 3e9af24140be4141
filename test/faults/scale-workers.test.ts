/**
 * Scale out: two anchor workers (`heru worker`, two processes) on one BullMQ queue
 * (a Redis of the test's own), behind one ingest, sharing the local IPFS store and
 * the local ledger. Halfway through, one of them is killed with SIGKILL and started
 * again. Every reading must end in exactly one anchored batch, each batch pinned once
 * and ordered once, and no batch may be anchored by both.
 */
import { describe, expect, it } from 'vitest';
import { startBurst } from '../helpers/burst.js';
import { anchorCounts, pollUntil, storedCounts } from '../helpers/exactlyOnce.js';
import { useFaultRig } from '../helpers/faultRig.js';
import { expectWhole, tallyBurst, tallyLocalAnchoring } from '../helpers/faultTally.js';
import { OwnRedis } from '../helpers/ownRedis.js';
import type { ServerProcess } from '../helpers/serverProcess.js';
import { recordFigures } from './figures.js';

const BURST = { prefix: 'sw', devices: 10, perDevice: 2_000 };
const TOTAL = BURST.devices * BURST.perDevice;
/** Small batches, so that there are many to share: about 40. */
const BATCH_MAX = 500;

/** Batch ids a worker process logged as anchored, over all its runs. */
function anchoredBy(worker: ServerProcess): string[] {
  return worker.logs.flatMap((l) =>
    l.json?.msg === 'batch anchored' ? [String(l.json.batch)] : [],
  );
}

describe('scale out: two workers on the same queue', () => {
  const rig = useFaultRig('scale-workers');

  it('anchors every batch once between them, one of them killed halfway', async () => {
    const redis = await OwnRedis.start();
    rig.defer(() => redis.stop());
    const anchorEnv = {
      REDIS_URL: redis.url,
      ANCHOR_BATCH_MAX: String(BATCH_MAX),
      ANCHOR_BATCH_WINDOW: '1',
    };
    await rig.server({ clientId: 'heru-sw-ingest', command: 'ingest', env: anchorEnv });
    const workerEnv = {
      ...anchorEnv,
      ANCHOR_RECONCILE_INTERVAL: '2',
      // A killed worker's claim on a batch runs out after 5 s instead of 30.
      ANCHOR_LEASE_SECONDS: '5',
    };
    const a = await rig.server({
      clientId: 'heru-sw-a',
      command: 'worker',
      env: workerEnv,
    });
    const b = await rig.server({
      clientId: 'heru-sw-b',
      command: 'worker',
      env: workerEnv,
    });

    const burst = await startBurst({
      brokerUrl: rig.broker.url,
      devicePrefix: BURST.prefix,
      devices: BURST.devices,
      readingsPerDevice: BURST.perDevice,
      timeoutMs: 120_000,
    });
    rig.defer(() => burst.close());
    const atKill = await pollUntil(
      () => anchorCounts(rig.sql),
      (c) => c.anchoredBatches >= 10,
      120_000,
      'ten anchored batches',
    );
    await a.kill();
    const killedAt = Date.now();
    await burst.done;
    // The broker acknowledged the burst; ingest may still be storing its tail. A
    // reading that never comes shows in the tally's missing keys.
    await pollUntil(
      () => storedCounts(rig.sql),
      (c) => c.readings >= TOTAL,
      120_000,
      `${TOTAL} stored readings`,
    ).catch(() => undefined);
    const tally = await tallyBurst(rig.sql, BURST);
    await a.start();
    const anchoring = await tallyLocalAnchoring(rig.sql, rig.dataDir, 180_000);
    const recoveryS = (Date.now() - killedAt) / 1000;
    const byA = anchoredBy(a);
    const byB = anchoredBy(b);

    await recordFigures({
      scenario: 'scale: 2 workers',
      sent: burst.acked,
      stored: tally.stored,
      duplicates: tally.duplicates,
      lost: tally.lost,
      recoverySeconds: recoveryS,
      anchored: anchoring.batches,
      anchoredTwice: anchoring.anchoredTwice,
      notes:
        `worker a anchored ${byA.length} batches (killed after ${atKill.anchoredBatches} ` +
        `in all, restarted), worker b ${byB.length}; pinned twice ${anchoring.pinnedTwice}`,
    });

    expectWhole(tally, anchoring, TOTAL);
    expect(anchoring.batches).toBeGreaterThanOrEqual(TOTAL / BATCH_MAX);
    // Both took work, and no batch was anchored by both.
    expect(byA.length).toBeGreaterThan(0);
    expect(byB.length).toBeGreaterThan(0);
    expect(byA.filter((id) => byB.includes(id))).toEqual([]);
  }, 600_000);
});
