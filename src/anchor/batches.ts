/**
 * Queries on `anchor_batch`. A worker claims a batch for a few seconds (a lease,
 * taken under a row lock with `for update skip locked`, so two workers never hold
 * one batch) and every state change is a compare-and-set on the state it expects and
 * on its own lease: a worker that lost its lease changes nothing.
 */
import type { Pool, PoolClient } from '../db/pool.js';
import type { LedgerReceipt, LedgerSubmission } from './backends.js';
import type { ManifestContent } from './scheme.js';

export type BatchState =
  'pending' | 'pinned' | 'prepared' | 'submitted' | 'anchored' | 'failed_permanent';

/** A batch row; times of the window as microsecond UTC text, like canonical readings. */
export interface BatchRow {
  id: string;
  state: BatchState;
  scheme: string;
  window_start: string;
  window_end: string;
  reading_count: number;
  root: Buffer;
  manifest_content: ManifestContent;
  manifest_cid: string | null;
  ledger: string | null;
  transaction_id: string | null;
  transaction_bytes: Buffer | null;
  topic_id: string | null;
  sequence_number: string | null;
  consensus_time: string | null;
  running_hash: Buffer | null;
  anchored_at: Date | null;
  guardian_state: 'pending' | 'filed' | 'failed' | null;
  attempts: number;
  last_error: string | null;
  created_at: Date;
}

const utc = (c: string): string =>
  `to_char(${c} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as ${c}`;

export const BATCH_COLUMNS = `id::text as id, state, scheme, ${utc('window_start')},
  ${utc('window_end')}, reading_count, root, manifest_content, manifest_cid, ledger,
  transaction_id, transaction_bytes, topic_id, sequence_number::text as sequence_number,
  consensus_time, running_hash, anchored_at, guardian_state, attempts, last_error,
  created_at`;

/** Batches a worker still has to do something with. */
const UNFINISHED = `(state not in ('anchored', 'failed_permanent') or guardian_state = 'pending')`;

/** Thrown when a worker's lease on a batch ran out and another worker took it. */
export class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
}

export async function getBatch(
  db: Pool | PoolClient,
  id: string,
): Promise<BatchRow | undefined> {
  const { rows } = await db.query<BatchRow>(
    `select ${BATCH_COLUMNS} from anchor_batch where id = $1`,
    [id],
  );
  return rows[0];
}

/**
 * Claims an unfinished batch for `owner` for `leaseSeconds`; undefined when it is
 * finished, unknown, or held by another worker whose lease still runs.
 */
export async function claimBatch(
  pool: Pool,
  id: string,
  owner: string,
  leaseSeconds: number,
): Promise<BatchRow | undefined> {
  const { rows } = await pool.query<BatchRow>(
    `update anchor_batch set lease_owner = $2,
       lease_until = now() + make_interval(secs => $3), attempts = attempts + 1,
       updated_at = now()
     where id = (select id from anchor_batch
                 where id = $1 and ${UNFINISHED}
                   and (lease_until is null or lease_until < now() or lease_owner = $2)
                 for update skip locked)
     returning ${BATCH_COLUMNS}`,
    [id, owner, leaseSeconds],
  );
  return rows[0];
}

/** Extends the lease; throws LeaseLost when it is no longer ours. */
export async function renewLease(
  pool: Pool,
  id: string,
  owner: string,
  leaseSeconds: number,
): Promise<void> {
  const { rowCount } = await pool.query(
    `update anchor_batch set lease_until = now() + make_interval(secs => $3)
     where id = $1 and lease_owner = $2`,
    [id, owner, leaseSeconds],
  );
  if (rowCount !== 1) throw new LeaseLost(`batch ${id} was taken over by another worker`);
}

/** Gives the batch up so another worker may take it at once. */
export async function releaseLease(pool: Pool, id: string, owner: string): Promise<void> {
  await pool.query(
    `update anchor_batch set lease_owner = null, lease_until = null
     where id = $1 and lease_owner = $2`,
    [id, owner],
  );
}

/** The fields a step sets; only these columns can be written. */
type StepFields = Partial<{
  state: BatchState;
  manifest_cid: string;
  pinned_at: 'now';
  ledger: string | null;
  topic_id: string | null;
  transaction_id: string | null;
  transaction_bytes: Buffer | null;
  prepared_at: 'now' | null;
  submitted_at: 'now' | null;
  sequence_number: number;
  consensus_time: string;
  running_hash: Buffer;
  anchored_at: 'now';
  guardian_state: 'pending' | 'filed' | 'failed';
  guardian_filed_at: 'now';
  last_error: string | null;
}>;

/**
 * Moves batch `id` from one of the states `from` and sets `fields`, as `owner`.
 * Returns the row after the change; throws LeaseLost when the batch is no longer ours
 * or no longer in one of those states.
 */
export async function advance(
  pool: Pool,
  id: string,
  owner: string,
  from: readonly BatchState[],
  fields: StepFields,
): Promise<BatchRow> {
  const sets: string[] = ['updated_at = now()'];
  const values: unknown[] = [id, owner, from];
  for (const [column, value] of Object.entries(fields)) {
    if (value === 'now') {
      sets.push(`${column} = now()`);
    } else {
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    }
  }
  const { rows } = await pool.query<BatchRow>(
    `update anchor_batch set ${sets.join(', ')}
     where id = $1 and lease_owner = $2 and state = any($3::text[])
     returning ${BATCH_COLUMNS}`,
    values,
  );
  const row = rows[0];
  if (!row) {
    throw new LeaseLost(
      `batch ${id} is no longer held by this worker in state ${from.join(' or ')}`,
    );
  }
  return row;
}

/** Records why the last attempt failed, without changing the state. */
export async function noteError(pool: Pool, id: string, message: string): Promise<void> {
  await pool.query(
    'update anchor_batch set last_error = $2, updated_at = now() where id = $1',
    [id, message.slice(0, 2000)],
  );
}

/** Fields of a stored, signed, not yet sent ledger transaction. */
export function preparedFields(
  ledger: string,
  topicId: string,
  s: LedgerSubmission,
): StepFields {
  return {
    state: 'prepared',
    ledger,
    topic_id: topicId,
    transaction_id: s.transactionId,
    transaction_bytes: Buffer.from(s.bytes),
    prepared_at: 'now',
  };
}

/** Fields of a batch whose receipt is recorded; `guardian`: a filing is still due. */
export function anchoredFields(r: LedgerReceipt, guardian: boolean): StepFields {
  return {
    ...(guardian ? { guardian_state: 'pending' as const } : {}),
    state: 'anchored',
    topic_id: r.topicId,
    sequence_number: r.sequenceNumber,
    consensus_time: r.consensusTime,
    running_hash: Buffer.from(r.runningHash, 'hex'),
    anchored_at: 'now',
    last_error: null,
  };
}

/** Ids of unfinished batches nobody holds, oldest first, at most `limit`. */
export async function unclaimedBatchIds(pool: Pool, limit: number): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `select id::text as id from anchor_batch
     where ${UNFINISHED}
       and (lease_until is null or lease_until < now())
     order by id limit $1`,
    [limit],
  );
  return rows.map((r) => r.id);
}

/**
 * Puts batches the ledger refused for good back to `pinned` (or `pending` when they
 * were never pinned) so they are prepared again with the corrected settings; safe
 * because a refused transaction never reached consensus. Returns how many.
 */
export async function retryFailedBatches(pool: Pool): Promise<number> {
  const { rowCount } = await pool.query(
    `update anchor_batch
     set state = case when manifest_cid is null then 'pending' else 'pinned' end,
       transaction_id = null,
       transaction_bytes = null, prepared_at = null, submitted_at = null, ledger = null,
       lease_owner = null, lease_until = null, updated_at = now()
     where state = 'failed_permanent'`,
  );
  const guardian = await pool.query(
    `update anchor_batch set guardian_state = 'pending', updated_at = now()
     where guardian_state = 'failed'`,
  );
  return (rowCount ?? 0) + (guardian.rowCount ?? 0);
}

/** Unfinished and refused batches, the age of the oldest unfinished, the last error. */
export async function batchBacklog(pool: Pool): Promise<{
  unfinished: number;
  refused: number;
  oldestSeconds: number | null;
  lastError: string | null;
}> {
  const { rows } = await pool.query<{
    unfinished: number;
    refused: number;
    oldest: number | null;
    last_error: string | null;
  }>(
    `select count(*) filter (where state <> 'failed_permanent')::int as unfinished,
            count(*) filter (where state = 'failed_permanent')::int as refused,
            extract(epoch from now() - min(created_at)
              filter (where state <> 'failed_permanent'))::float8 as oldest,
            (array_agg(last_error order by updated_at desc)
              filter (where last_error is not null))[1] as last_error
     from anchor_batch where state <> 'anchored' or guardian_state = 'pending'`,
  );
  const r = rows[0]!;
  return {
    unfinished: r.unfinished,
    refused: r.refused,
    oldestSeconds: r.oldest,
    lastError: r.last_error,
  };
}
