/**
 * Anchoring one sealed batch, step by step, each step recorded in PostgreSQL before
 * the next begins so that a crash anywhere resumes without a second pin or a second
 * ledger message:
 *
 *   pending   → the manifest is rebuilt from the database and its CID computed and
 *               stored before pinning; after a crash, a stored CID that is already
 *               pinned is not pinned again            → pinned
 *   pinned    → the ledger message is built, signed, and its bytes stored → prepared
 *   prepared  → marked submitted, then the stored bytes are sent            → submitted
 *   submitted → the receipt is recorded                                     → anchored
 *   anchored  → filed with the Guardian policy, when one is configured
 *
 * A batch found `submitted` after a crash is first looked up on the ledger by its
 * transaction id; if the ledger has no record of it, the same stored bytes are sent
 * again, which the ledger answers at most once. Only when the ledger says the stored
 * transaction expired unsent (and a lookup confirms it never landed) is a new one
 * prepared. A permanent refusal (bad signature, unknown topic) marks the batch
 * failed_permanent and tells the worker to pause instead of spending more fees.
 */
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import { LedgerError, type IpfsBackend, type LedgerBackend } from './backends.js';
import {
  LeaseLost,
  advance,
  anchoredFields,
  claimBatch,
  noteError,
  preparedFields,
  releaseLease,
  renewLease,
  type BatchRow,
} from './batches.js';
import { cidOf, sameCid } from './cid.js';
import { ledgerMessageBytes } from './ledgerMessage.js';
import { buildBatchManifest } from './batchManifest.js';
import type { GuardianClient } from './guardian.js';
import { fileWithGuardian } from './guardianFiling.js';

export interface AnchorDeps {
  pool: Pool;
  ipfs: IpfsBackend;
  ledger: LedgerBackend;
  /** When set, each anchored batch is also filed with this Guardian policy block. */
  guardian?: GuardianClient | undefined;
  log: Logger;
  /** This worker's name in lease columns; unique per process. */
  owner: string;
  leaseSeconds: number;
  /** Told when the ledger refuses a batch for good; anchoring should pause. */
  onPermanentFailure(batchId: string, err: LedgerError): void;
}

/** The batch as it is now, and whether this run recorded its anchoring. */
export type AnchorOutcome = { batch: BatchRow; anchoredNow: boolean } | 'busy';

/**
 * Moves batch `id` as far as it goes; resolves to `busy` when it is finished or
 * another worker holds it. Throws to be retried later.
 */
export async function anchorBatch(d: AnchorDeps, id: string): Promise<AnchorOutcome> {
  let b = await claimBatch(d.pool, id, d.owner, d.leaseSeconds);
  if (!b) return 'busy';
  const wasAnchored = b.state === 'anchored';
  const log = d.log.child({ batch: id });
  const keeper = setInterval(
    () => {
      renewLease(d.pool, id, d.owner, d.leaseSeconds).catch((err: Error) =>
        log.warn({ err: err.message }, 'batch lease not renewed'),
      );
    },
    Math.max(500, (d.leaseSeconds * 1000) / 3),
  );
  try {
    if (b.state === 'pending') b = await pin(d, b, log);
    if (b.state === 'pinned') b = await prepare(d, b);
    if (b.state === 'prepared' || b.state === 'submitted') b = await submit(d, b, log);
    if (b.state === 'anchored' && b.guardian_state === 'pending') {
      b = await fileWithGuardian(d, b, log);
    }
    return { batch: b, anchoredNow: !wasAnchored && b.state === 'anchored' };
  } catch (err) {
    if (err instanceof LeaseLost) {
      log.info({ reason: err.message }, 'batch left to another worker');
      return 'busy';
    }
    await noteError(d.pool, id, (err as Error).message).catch(() => undefined);
    throw err;
  } finally {
    clearInterval(keeper);
    await releaseLease(d.pool, id, d.owner).catch(() => undefined);
  }
}

async function pin(d: AnchorDeps, b: BatchRow, log: Logger): Promise<BatchRow> {
  const bytes = await buildBatchManifest(d.pool, b);
  const cid = await cidOf(bytes);
  let pinned = false;
  if (b.manifest_cid) {
    if (!sameCid(b.manifest_cid, cid)) {
      throw new Error(
        `batch ${b.id}: the manifest rebuilt from the database has CID ${cid}, not ` +
          `${b.manifest_cid} as computed before; its leaves changed in the database`,
      );
    }
    // A crash after pinning and before recording it: do not pin a second time.
    pinned = await d.ipfs.isPinned(cid);
  } else {
    await advance(d.pool, b.id, d.owner, ['pending'], { manifest_cid: cid });
  }
  if (!pinned) {
    const got = await d.ipfs.pin(bytes, `heru-batch-${b.id}`);
    if (!sameCid(got, cid)) {
      throw new Error(
        `batch ${b.id}: ${d.ipfs.name} pinned the manifest as ${got}, but its CID is ${cid}`,
      );
    }
  }
  log.debug({ cid, bytes: bytes.length, again: pinned }, 'batch manifest pinned');
  return advance(d.pool, b.id, d.owner, ['pending'], {
    state: 'pinned',
    pinned_at: 'now',
  });
}

async function prepare(d: AnchorDeps, b: BatchRow): Promise<BatchRow> {
  const message = ledgerMessageBytes({
    batchId: b.id,
    root: b.root,
    count: b.reading_count,
    cid: b.manifest_cid!,
  });
  const submission = await d.ledger.prepare(message);
  return advance(
    d.pool,
    b.id,
    d.owner,
    ['pinned'],
    preparedFields(d.ledger.name, d.ledger.topicId, submission),
  );
}

async function submit(d: AnchorDeps, b: BatchRow, log: Logger): Promise<BatchRow> {
  if (b.ledger !== d.ledger.name) b = await otherLedger(d, b);
  if (b.state === 'prepared') {
    b = await advance(d.pool, b.id, d.owner, ['prepared'], {
      state: 'submitted',
      submitted_at: 'now',
    });
  } else {
    // Sent before, perhaps: a ledger that has it answers with its receipt.
    const earlier = await d.ledger.lookup(b.transaction_id!).catch(refusal);
    if (earlier instanceof LedgerError) return ledgerRefused(d, b, earlier, log);
    if (earlier) return recordReceipt(d, b, earlier, log);
  }
  const submission = { transactionId: b.transaction_id!, bytes: b.transaction_bytes! };
  const receipt = await d.ledger.submit(submission).catch(refusal);
  if (receipt instanceof LedgerError) return ledgerRefused(d, b, receipt, log);
  return recordReceipt(d, b, receipt, log);
}

/** A LedgerError as a value, to be handled; anything else is thrown on. */
function refusal(err: unknown): LedgerError {
  if (err instanceof LedgerError) return err;
  throw err;
}

async function recordReceipt(
  d: AnchorDeps,
  b: BatchRow,
  r: Parameters<typeof anchoredFields>[0],
  log: Logger,
): Promise<BatchRow> {
  const row = await advance(
    d.pool,
    b.id,
    d.owner,
    ['submitted'],
    anchoredFields(r, d.guardian !== undefined),
  );
  log.info(
    {
      readings: row.reading_count,
      cid: row.manifest_cid,
      topic: r.topicId,
      sequence: r.sequenceNumber,
      transaction: r.transactionId,
    },
    'batch anchored',
  );
  return row;
}

async function ledgerRefused(
  d: AnchorDeps,
  b: BatchRow,
  err: LedgerError,
  log: Logger,
): Promise<BatchRow> {
  if (err.kind === 'permanent') {
    const row = await advance(d.pool, b.id, d.owner, ['submitted'], {
      state: 'failed_permanent',
      last_error: `${err.status}: ${err.message}`,
    });
    log.error(
      { status: err.status, err: err.message },
      'ledger refused the batch for good',
    );
    d.onPermanentFailure(b.id, err);
    return row;
  }
  if (err.kind === 'retry' && err.status === 'TRANSACTION_EXPIRED') {
    const landed = await d.ledger.lookup(b.transaction_id!);
    if (landed) return recordReceipt(d, b, landed, log);
    await advance(d.pool, b.id, d.owner, ['submitted'], UNPREPARED);
    log.info(
      { transaction: b.transaction_id },
      'stored transaction expired unsent; preparing anew',
    );
  }
  throw err;
}

/** Fields that drop a stored transaction the ledger never accepted. */
const UNPREPARED = {
  state: 'pinned',
  ledger: null,
  topic_id: null,
  transaction_id: null,
  transaction_bytes: null,
  prepared_at: null,
  submitted_at: null,
} as const;

/**
 * The batch was prepared for another ledger than the configured one (the settings
 * changed). Unsent, it is prepared again; possibly sent, it needs its own ledger.
 */
async function otherLedger(d: AnchorDeps, b: BatchRow): Promise<BatchRow> {
  if (b.state === 'prepared') {
    const row = await advance(d.pool, b.id, d.owner, ['prepared'], UNPREPARED);
    return prepare(d, row);
  }
  throw new Error(
    `batch ${b.id} was sent to the ${b.ledger ?? 'unknown'} ledger (transaction ` +
      `${b.transaction_id ?? '?'}), but this worker is configured for ${d.ledger.name}; ` +
      'run a worker with the earlier ledger settings until it is anchored',
  );
}
