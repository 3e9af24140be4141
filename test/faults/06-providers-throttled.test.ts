/**
 * Scenario 6: the anchoring providers refuse to work while readings keep coming at a
 * steady rate. The server (`heru serve`: ingest, rules and the anchor worker in one
 * process) pins to Pinata and orders on Hedera, both local servers speaking the real
 * protocols. After a quiet start, Pinata answers every upload 429 with Retry-After,
 * then leaves every upload hanging without an answer, then works again; all that
 * time, and for a while after, the Hedera node answers every submission BUSY.
 *
 * Counted: every reading published during the trouble is stored before the providers
 * answer again (ingest does not wait for anchoring), no batch is anchored while they
 * refuse (anchoring waits), and once they answer every reading is anchored in exactly
 * one batch with one upload and one ledger message per batch (anchoring resumes).
 */
import { describe, expect, it } from 'vitest';
import { startPublishers } from '../../bench/publishers.js';
import {
  anchorCounts,
  anchoredBatches,
  anchoredTwice,
  messagesPerBatch,
  pollUntil,
  storedCounts,
} from '../helpers/exactlyOnce.js';
import { useFaultRig } from '../helpers/faultRig.js';
import { startMockHedera } from '../mocks/hederaNetwork.js';
import { PinataMock } from '../mocks/pinata.js';
import { recordFigures } from './figures.js';

const JWT = 'fault6-jwt';
/** Readings a second, one a message, from 50 devices. */
const RATE = 1_000;
/** Seconds of each phase: quiet, 429, hanging, BUSY alone. */
const PHASE_S = 10;
const PHASES = ['quiet', '429', 'hanging', 'busy'] as const;
const MESSAGES = RATE * PHASE_S * PHASES.length;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('scenario 6: Pinata throttles and hangs, Hedera answers BUSY', () => {
  const rig = useFaultRig('fault6');

  it('stores at the same pace, anchors nothing meanwhile, then anchors each batch once', async () => {
    const pinata = await PinataMock.start({ jwt: JWT });
    rig.defer(() => pinata.close());
    const hedera = await startMockHedera();
    rig.defer(() => hedera.close());
    await rig.server({
      clientId: 'heru-fault6',
      env: {
        ...hedera.env,
        PINATA_JWT: JWT,
        PINATA_API_URL: pinata.url.href,
        PINATA_TIMEOUT_MS: '2000',
        HEDERA_MAX_ATTEMPTS: '2',
        ANCHOR_BATCH_WINDOW: '2',
        ANCHOR_RECONCILE_INTERVAL: '2',
      },
    });

    const publishers = startPublishers({
      port: rig.broker.port,
      clientPrefix: 'fault6-pub',
      connections: 2,
      window: 200,
      devices: 50,
      messages: MESSAGES,
      perMessage: 1,
      boot: 1,
      rate: RATE,
      deadlineMs: 240_000,
    });
    rig.defer(() => publishers.stop());

    // Phase by phase: what the broker took and what was stored, at each change.
    const marks: Array<{ phase: string; at: number; acked: number; stored: number }> = [];
    const mark = async (phase: string) => {
      const stored = (await storedCounts(rig.sql)).readings;
      marks.push({ phase, at: Date.now(), acked: publishers.acked(), stored });
    };
    await mark('start');
    await sleep(PHASE_S * 1000);
    await mark('quiet');
    // The mocks decide each answer when a request is whole: from these lines on
    // nothing is pinned or ordered until they are told otherwise.
    hedera.node.answerAlways('BUSY');
    pinata.answerTooManyRequests(Infinity, '1');
    const orderedBefore = hedera.ledger.messages(hedera.topicId).length;
    const pinnedBefore = pinata.pins.size;
    const requestsAt429 = pinata.pinRequests;
    await sleep(PHASE_S * 1000);
    await mark('429');
    pinata.answerTooManyRequests(0);
    pinata.hangPins(Infinity, false);
    const requestsAtHang = pinata.pinRequests;
    await sleep(PHASE_S * 1000);
    await mark('hanging');
    const pinnedWhileRefused = pinata.pins.size - pinnedBefore;
    pinata.hangPins(0, false);
    const requestsAtOk = pinata.pinRequests;
    await publishers.done;
    await mark('busy');

    // Every reading the broker took is stored while Hedera still answers BUSY.
    const stored = await pollUntil(
      () => storedCounts(rig.sql),
      (c) => c.readings >= MESSAGES,
      120_000,
      `${MESSAGES} stored readings`,
    );
    const during = await anchorCounts(rig.sql);
    const busyAnswers = hedera.node.answered.filter((c) => c === 'BUSY').length;
    const orderedWhileBusy =
      hedera.ledger.messages(hedera.topicId).length - orderedBefore;

    const liftedAt = Date.now();
    hedera.node.answerAlways(undefined);
    const after = await pollUntil(
      () => anchorCounts(rig.sql),
      (a) => a.pendingReadings === 0 && a.batches > 0 && a.anchoredBatches === a.batches,
      240_000,
      'every reading in an anchored batch',
      1_000,
    );
    const recoveryS = (Date.now() - liftedAt) / 1000;
    const batches = await anchoredBatches(rig.sql);
    const perBatch = messagesPerBatch(
      hedera.ledger.messages(hedera.topicId).map((m) => m.message),
    );

    const rates = marks.slice(1).map((m, i) => {
      const before = marks[i]!;
      const perS = (m.stored - before.stored) / ((m.at - before.at) / 1000);
      return `${m.phase} ${perS.toFixed(0)}/s`;
    });
    await recordFigures({
      scenario: '6 providers throttled',
      sent: publishers.acked(),
      stored: stored.readings - stored.duplicates,
      duplicates: stored.duplicates,
      lost: publishers.acked() - (stored.readings - stored.duplicates),
      recoverySeconds: recoveryS,
      anchored: batches.length,
      anchoredTwice: anchoredTwice(perBatch),
      notes:
        `stored per phase: ${rates.join(', ')}; ` +
        `${requestsAtHang - requestsAt429} uploads answered 429, ` +
        `${requestsAtOk - requestsAtHang} left hanging, ${busyAnswers} BUSY answers; ` +
        `${orderedBefore} batches anchored before the trouble, ${orderedWhileBusy} during ` +
        `it, ${during.batches - during.anchoredBatches} waiting when Hedera came back`,
    });

    // Ingest did not wait: all of it stored before the providers answered again.
    expect(publishers.acked()).toBe(MESSAGES);
    expect(stored).toEqual({ readings: MESSAGES, duplicates: 0 });
    // Anchoring waited: nothing anchored while they refused, though there was work.
    expect(requestsAtHang - requestsAt429).toBeGreaterThan(0);
    expect(requestsAtOk - requestsAtHang).toBeGreaterThan(0);
    expect(busyAnswers).toBeGreaterThan(0);
    expect([pinnedWhileRefused, orderedWhileBusy]).toEqual([0, 0]);
    expect(during.batches - during.anchoredBatches).toBeGreaterThan(0);
    // And resumed: every reading once, every batch one upload and one message.
    expect(after.anchoredReadings).toBe(MESSAGES);
    expect(after.orphanReadings + after.miscountedBatches).toBe(0);
    expect(batches.map((b) => perBatch.get(b.id))).toEqual(batches.map(() => 1));
    expect(perBatch.size).toBe(batches.length);
    expect(batches.map((b) => pinata.uploads.get(b.cid))).toEqual(batches.map(() => 1));
    expect(pinata.pins.size).toBe(batches.length);
  }, 600_000);
});
