/**
 * Scenario 4: Redis (no persistence) is killed while sealed batches wait for IPFS
 * (Pinata answers 429 to every pin), and comes back empty: every anchor job is gone.
 * Ingest and the worker run as separate processes, as `heru ingest` and
 * `heru worker`, against a Pinata and a Hedera network that speak the real
 * protocols. The worker's reconciler must find the batches in PostgreSQL and queue
 * them again; each batch must end with one pin and one ledger message, and the
 * readings stored while Redis was away must be anchored too.
 */
import { describe, expect, it } from 'vitest';
import { startAnchorServices, tallyNetworkAnchoring } from '../helpers/anchorServices.js';
import { startBurst } from '../helpers/burst.js';
import { anchorCounts, pollUntil } from '../helpers/exactlyOnce.js';
import { useFaultRig } from '../helpers/faultRig.js';
import { alarmsBrief, tallyBurst } from '../helpers/faultTally.js';
import { recordFigures } from './figures.js';

const FIRST = { prefix: 'rq1', devices: 5, perDevice: 2_000 };
const DURING = { prefix: 'rq2', devices: 5, perDevice: 1_000 };
const BATCH_MAX = 1_000;

describe('scenario 4: Redis restarted empty while batches wait', () => {
  const rig = useFaultRig('fault4');

  it('has the reconciler queue every batch again, each anchored once', async () => {
    const services = await startAnchorServices(rig, BATCH_MAX);
    const { redis, pinata, ingestEnv, workerEnv } = services;
    const ingest = await rig.server({
      clientId: 'heru-fault4-ingest',
      command: 'ingest',
      env: ingestEnv,
    });
    // Every pin refused for an hour: the worker gives each one back to the queue.
    pinata.answerTooManyRequests(1_000_000, '3600');
    const worker = await rig.server({
      clientId: 'heru-fault4-worker',
      command: 'worker',
      env: { ...workerEnv, PINATA_MAX_RETRY_AFTER_MS: '500' },
    });

    const first = await publish(FIRST);
    const waiting = await pollUntil(
      () => waitingBatches(),
      (w) => w.pendingReadings === 0 && w.batches > 0 && w.refused === w.batches,
      60_000,
      'every reading sealed and every batch refused by Pinata once',
    );
    const queued = await pollUntil(
      async () => (await worker.health()).body.checks.queue ?? {},
      (q) => Number(q.delayed ?? 0) + Number(q.wait ?? 0) + Number(q.active ?? 0) > 0,
      30_000,
      'anchor jobs waiting in Redis',
    );

    await redis.stop();
    const during = await publish(DURING);
    const workerWhileDown = await worker.health();
    const ingestHealth = await ingest.health();
    await redis.start();
    const restartedAt = Date.now();
    await pollUntil(
      () => Promise.resolve(requeuedSince(worker.events(), restartedAt)),
      (n) => n > 0,
      60_000,
      'the reconciler queueing the waiting batches again',
    );
    pinata.answerTooManyRequests(0);
    const total = first + during;
    const anchoring = await pollUntil(
      () => anchorCounts(rig.sql),
      (a) => a.pendingReadings === 0 && a.anchoredBatches === a.batches,
      120_000,
      'every batch anchored',
      1_000,
    );
    const recoveryS = (Date.now() - restartedAt) / 1000;
    const requeued = requeuedSince(worker.events(), restartedAt);

    const network = await tallyNetworkAnchoring(rig.sql, services);
    const tallies = [await tallyBurst(rig.sql, FIRST), await tallyBurst(rig.sql, DURING)];

    await recordFigures({
      scenario: '4 Redis restarted empty',
      sent: first + during,
      stored: tallies[0]!.stored + tallies[1]!.stored,
      duplicates: tallies[0]!.duplicates + tallies[1]!.duplicates,
      lost: tallies[0]!.lost + tallies[1]!.lost,
      recoverySeconds: recoveryS,
      anchored: anchoring.anchoredBatches,
      anchoredTwice: network.anchoredTwice,
      notes:
        `${waiting.batches} batches waiting (${JSON.stringify(pick(queued))} in Redis) ` +
        `when it was killed; ${during} readings stored while it was down; the ` +
        `reconciler queued ${requeued} again; ${pinata.pinRequests} pin requests, ` +
        `${network.batches.length} batches pinned and ordered`,
    });

    expect(total).toBe(
      FIRST.devices * FIRST.perDevice + DURING.devices * DURING.perDevice,
    );
    for (const t of tallies)
      expect(t).toMatchObject({ duplicates: 0, lost: 0, extra: 0 });
    expect(workerWhileDown.body.checks.queue?.status).toBe('failing');
    expect(ingestHealth.body.checks.ingest?.status).toBe('ok');
    expect(requeued).toBe(waiting.batches);
    expect(anchoring).toMatchObject({
      anchoredReadings: total,
      orphanReadings: 0,
      miscountedBatches: 0,
    });
    expect(network.batches.length).toBe(anchoring.batches);
    expect(network.batches.length).toBeGreaterThan(waiting.batches);
    expect(network).toMatchObject({ anchoredTwice: 0, pinnedTwice: 0, unmatched: 0 });
    expect(await alarmsBrief(rig.sql)).toEqual([]);
  }, 300_000);

  /** Publishes a burst, waits until ingest stored it all; the readings published. */
  async function publish(b: typeof FIRST): Promise<number> {
    const burst = await startBurst({
      brokerUrl: rig.broker.url,
      devicePrefix: b.prefix,
      devices: b.devices,
      readingsPerDevice: b.perDevice,
      timeoutMs: 60_000,
    });
    try {
      await burst.done;
    } finally {
      await burst.close();
    }
    await pollUntil(
      async () => (await tallyBurst(rig.sql, b)).stored,
      (n) => n === burst.total,
      60_000,
      `the ${b.prefix} burst stored`,
    );
    return burst.acked;
  }

  /** Readings not yet sealed; batches, and those that failed to pin at least once. */
  async function waitingBatches() {
    const { rows } = await rig.sql.query<{
      pendingReadings: number;
      batches: number;
      refused: number;
    }>(
      `select (select count(*)::int from anchor_pending) as "pendingReadings",
              (select count(*)::int from anchor_batch) as batches,
              (select count(*)::int from anchor_batch
                where state = 'pending' and last_error is not null) as refused`,
    );
    return rows[0]!;
  }
});

/** Batches the worker's reconciler logged queueing again since `at` (ms). */
function requeuedSince(events: Array<Record<string, unknown>>, at: number): number {
  return events
    .filter((e) => e.msg === 'reconciler queued unfinished batches')
    .filter((e) => Date.parse(String(e.time)) >= at)
    .reduce((n, e) => n + Number(e.batches ?? 0), 0);
}

const pick = (q: Record<string, unknown>) => ({
  wait: q.wait,
  delayed: q.delayed,
  active: q.active,
});
