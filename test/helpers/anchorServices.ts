/**
 * What anchoring across processes stands on in a fault scenario: a Redis of its own
 * for the queue, and a Pinata and a Hedera network speaking the real protocols on
 * loopback; with the environment that points `heru ingest` and `heru worker` at them.
 * Everything is ended with the scenario's rig.
 */
import type pg from 'pg';
import { startMockHedera, type MockHederaNetwork } from '../mocks/hederaNetwork.js';
import { PinataMock } from '../mocks/pinata.js';
import { messagesPerBatch } from './exactlyOnce.js';
import type { FaultRig } from './faultRig.js';
import { OwnRedis } from './ownRedis.js';

export interface AnchorServices {
  redis: OwnRedis;
  pinata: PinataMock;
  hedera: MockHederaNetwork;
  /** For `heru ingest`: the queue and the batch settings. */
  ingestEnv: Record<string, string>;
  /** For `heru worker`: the same, the services, and a reconciler pass every 2 s. */
  workerEnv: Record<string, string>;
}

const JWT = 'fault-suite-jwt';

export async function startAnchorServices(
  rig: FaultRig,
  batchMax: number,
): Promise<AnchorServices> {
  const redis = await OwnRedis.start();
  rig.defer(() => redis.stop());
  const pinata = await PinataMock.start({ jwt: JWT });
  rig.defer(() => pinata.close());
  const hedera = await startMockHedera();
  rig.defer(() => hedera.close());
  const ingestEnv = {
    REDIS_URL: redis.url,
    ANCHOR_BATCH_MAX: String(batchMax),
    ANCHOR_BATCH_WINDOW: '1',
  };
  const workerEnv = {
    ...ingestEnv,
    ...hedera.env,
    PINATA_JWT: JWT,
    PINATA_API_URL: pinata.url.href,
    // The mock has no plan limits; the worker's own limiter would only slow the test.
    PINATA_RATE_PER_MINUTE: '6000',
    PINATA_DATA_RATE_PER_MINUTE: '6000',
    ANCHOR_RECONCILE_INTERVAL: '2',
  };
  return { redis, pinata, hedera, ingestEnv, workerEnv };
}

export interface NetworkAnchorTally {
  /** The anchored batches, with their CID and ledger transaction. */
  batches: Array<{ id: string; cid: string; tx: string }>;
  /** Batches with more than one ledger message, or more than one upload (must be 0). */
  anchoredTwice: number;
  pinnedTwice: number;
  /**
   * Anchored batches missing their message or their upload, plus messages and
   * uploads that belong to no anchored batch (must be 0).
   */
  unmatched: number;
}

/** Counts, per anchored batch, what the Hedera and Pinata mocks received. */
export async function tallyNetworkAnchoring(
  sql: pg.Pool,
  s: AnchorServices,
): Promise<NetworkAnchorTally> {
  const { rows } = await sql.query<{ id: string; cid: string; tx: string }>(
    `select id::text, manifest_cid as cid, transaction_id as tx from anchor_batch
     where state = 'anchored' order by id`,
  );
  const messages = messagesPerBatch(
    s.hedera.ledger.messages(s.hedera.topicId).map((m) => m.message),
  );
  const uploads = s.pinata.uploads;
  const ids = new Set(rows.map((b) => b.id));
  const cids = new Set(rows.map((b) => b.cid));
  const missing = rows.filter((b) => !messages.has(b.id) || !uploads.has(b.cid));
  const strayMessages = [...messages.keys()].filter((id) => !ids.has(id));
  const strayUploads = [...uploads.keys()].filter((cid) => !cids.has(cid));
  return {
    batches: rows,
    anchoredTwice: rows.filter((b) => (messages.get(b.id) ?? 0) > 1).length,
    pinnedTwice: rows.filter((b) => (uploads.get(b.cid) ?? 0) > 1).length,
    unmatched: missing.length + strayMessages.length + strayUploads.length,
  };
}
