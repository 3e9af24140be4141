/**
 * Scenario 5: the anchor worker (`heru worker`, on Redis, pinning to Pinata and
 * ordering on Hedera, both local servers speaking the real protocols) is killed with
 * SIGKILL at each step of anchoring, from outside and at the protocol point itself:
 *
 * - after pin: Pinata has pinned the manifest; the worker dies before the answer;
 * - after submit: the node has ordered the ledger message; the worker dies before
 *   the precheck answer;
 * - after receipt: the worker holds the receipt and asks for the record (the
 *   consensus time); it dies before that answer, so before recording anything.
 *
 * Restarted each time, it must end with every batch anchored, one pin and one ledger
 * message per batch, and every reading in exactly one anchored batch.
 */
import { describe, expect, it } from 'vitest';
import { getBatch } from '../../src/anchor/batches.js';
import { startAnchorServices, tallyNetworkAnchoring } from '../helpers/anchorServices.js';
import { startBurst } from '../helpers/burst.js';
import { anchorCounts, pollUntil } from '../helpers/exactlyOnce.js';
import { useFaultRig } from '../helpers/faultRig.js';
import { tallyBurst } from '../helpers/faultTally.js';
import { recordFigures } from './figures.js';

const BURST = { prefix: 'wk', devices: 5, perDevice: 2_000 };
const TOTAL = BURST.devices * BURST.perDevice;

describe('scenario 5: the worker killed with SIGKILL at each step of anchoring', () => {
  const rig = useFaultRig('fault5');

  it('ends with one pin and one ledger message per batch', async () => {
    const services = await startAnchorServices(rig, 500);
    const { pinata, hedera, ingestEnv, workerEnv } = services;
    await rig.server({
      clientId: 'heru-fault5-ingest',
      command: 'ingest',
      env: ingestEnv,
    });
    const worker = await rig.server({
      clientId: 'heru-fault5-worker',
      command: 'worker',
      // A dead worker's claim on a batch runs out after 5 s instead of 30.
      env: { ...workerEnv, ANCHOR_LEASE_SECONDS: '5' },
    });
    // Kills the worker from inside a mock's answer, once its current run is up.
    let run: Promise<void> = Promise.resolve();
    const killWhen = <T>(arm: (hook: (seen: T) => Promise<void>) => void) =>
      new Promise<T>((resolve) =>
        arm(async (seen) => {
          await run.catch(() => undefined);
          await worker.kill();
          resolve(seen);
        }),
      );
    // What the hook saw; or, should the run die before it is ready, why.
    const killed = <T>(seen: Promise<T>): Promise<T> =>
      Promise.race([seen, run.then(() => new Promise<T>(() => undefined))]);

    // 1. After pin: the readings arrive, the worker seals and pins the first batch.
    const pinned = killWhen<string>((hook) =>
      pinata.onNextPin((pin) => hook(`${pin.name}|${pin.cid}`)),
    );
    const burst = await startBurst({
      brokerUrl: rig.broker.url,
      devicePrefix: BURST.prefix,
      devices: BURST.devices,
      readingsPerDevice: BURST.perDevice,
    });
    rig.defer(() => burst.close());
    const [pinName, pinCid] = (await pinned).split('|') as [string, string];
    const afterPin = (await getBatch(rig.sql, pinName.replace('heru-batch-', '')))!;

    // 2. After submit: restarted, it sends its first ledger message and dies.
    const ordered = killWhen<string | undefined>((hook) =>
      hedera.node.onNext('submitMessage', hook),
    );
    run = worker.start();
    const submittedTx = await killed(ordered);
    const afterSubmit = await batchOfTransaction(submittedTx);

    // 3. After receipt: restarted, it dies asking for its first record.
    const recorded = killWhen<string | undefined>((hook) =>
      hedera.node.onNext('getTxRecordByTxID', hook),
    );
    run = worker.start();
    const receiptTx = await killed(recorded);
    const afterReceipt = await batchOfTransaction(receiptTx);

    // 4. Left alone, it finishes: killed runs' jobs come back once their locks lapse.
    const lastStart = Date.now();
    run = worker.start();
    await run;
    await burst.done;
    const anchoring = await pollUntil(
      () => anchorCounts(rig.sql),
      (a) => a.pendingReadings === 0 && a.anchoredReadings === TOTAL && a.batches > 0,
      180_000,
      'every reading in an anchored batch',
      1_000,
    );
    const recoveryS = (Date.now() - lastStart) / 1000;

    const network = await tallyNetworkAnchoring(rig.sql, services);
    const tally = await tallyBurst(rig.sql, BURST);

    await recordFigures({
      scenario: '5 worker SIGKILL at each step',
      sent: burst.acked,
      stored: tally.stored,
      duplicates: tally.duplicates,
      lost: tally.lost,
      recoverySeconds: recoveryS,
      anchored: anchoring.anchoredBatches,
      anchoredTwice: network.anchoredTwice,
      notes:
        `killed after the pin of batch ${afterPin.id}, the submit of batch ` +
        `${afterSubmit?.id}, the receipt of batch ${afterReceipt?.id}; ` +
        `${pinata.pinRequests} pin requests, ${pinata.pinListRequests} pin-list ` +
        `questions, ${hedera.node.received.length} transactions sent for ` +
        `${network.batches.length} batches; ${worker.run} worker runs`,
    });

    // Each kill left the batch where the protocol had taken it.
    expect(afterPin).toMatchObject({ state: 'pending', manifest_cid: pinCid });
    expect(pinata.uploads.get(pinCid)).toBe(1);
    expect(afterSubmit).toMatchObject({ state: 'submitted' });
    expect(afterReceipt).toMatchObject({ state: 'submitted' });

    expect(tally).toMatchObject({ stored: TOTAL, duplicates: 0, lost: 0, extra: 0 });
    expect(anchoring).toMatchObject({
      anchoredBatches: anchoring.batches,
      orphanReadings: 0,
      miscountedBatches: 0,
    });
    expect(network.batches.length).toBe(anchoring.batches);
    expect(network).toMatchObject({ anchoredTwice: 0, pinnedTwice: 0, unmatched: 0 });
    // The batches caught mid-way kept the transaction they had sent.
    for (const b of [afterSubmit, afterReceipt]) {
      expect(network.batches.find((r) => r.id === b?.id)?.tx).toBe(b?.transaction_id);
    }
  }, 300_000);

  async function batchOfTransaction(tx: string | undefined) {
    const { rows } = await rig.sql.query<{ id: string }>(
      'select id::text from anchor_batch where transaction_id = $1',
      [tx ?? ''],
    );
    return rows[0] ? getBatch(rig.sql, rows[0].id) : undefined;
  }
});
