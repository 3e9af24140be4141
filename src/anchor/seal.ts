/**
 * Sealing: turning pending readings into a batch. In one transaction it takes the
 * oldest pending readings (row locks, `skip locked`, so two sealers take different
 * readings), reads them back from PostgreSQL in canonical form, computes their leaves
 * and the Merkle root, writes the batch and one proof row per reading, and removes them
 * from `anchor_pending`. A crash before the commit leaves them pending; after it they
 * belong to exactly one batch.
 *
 * What is sealed depends on who asks (`mode`):
 * - `full`: only a batch of `max` readings (ingest stored a batch's worth);
 * - `window`: whatever waits, up to `max` (a window is over: its readings must not
 *   wait for the next one);
 * - `due`: a full batch, or whatever waits once the oldest has waited `windowSeconds`
 *   (the reconciler, which knows nothing of windows).
 */
import type { Pool, PoolClient } from '../db/pool.js';
import { transaction } from '../db/pool.js';
import {
  canonicalColumns,
  readingLeaf,
  type CanonicalReadingRow,
} from './canonicalReading.js';
import { MerkleTree } from './merkle.js';
import { ANCHOR_SCHEME, type ManifestContent } from './scheme.js';

/** When a partial batch may be sealed; see the top of this file. */
export type SealMode = 'full' | 'window' | 'due';

export interface SealOptions {
  mode: SealMode;
  /** Most readings in one batch. */
  max: number;
  /** Seconds the oldest pending reading may wait before its batch is sealed. */
  windowSeconds: number;
  content: ManifestContent;
  /**
   * Only readings queued up to this time (PostgreSQL timestamptz text), so that a
   * window's job does not go on sealing the readings of the next window as they come.
   */
  before?: string;
  /**
   * When another sealer is at work: wait for it (the default), or seal nothing and
   * return undefined at once (false; see SEAL_LOCK).
   */
  waitForLock?: boolean;
  /** Most milliseconds to wait for another sealer; then undefined. Default 10 s. */
  lockWaitMs?: number;
}

export interface SealedBatch {
  id: string;
  count: number;
  root: Buffer;
}

// A job woken by a timer on another machine's clock may run a little early.
const CLOCK_TOLERANCE_SECONDS = 0.5;

/**
 * One sealer at a time, across every worker (a transaction-scoped advisory lock).
 * Sealers side by side only got in each other's way: each sorted the whole queue
 * table and stepped over the rows the others had locked, so with a few thousand
 * readings waiting each seal took seconds, and the more readings waited, the slower
 * it got (the soak fell behind after ten minutes at 5,000 readings/s). One sealer
 * takes the oldest rows with nothing to step over; it goes on while full batches
 * wait, so a job that finds it busy can leave.
 */
export const SEAL_LOCK = 0x68657273;
/** How often a sealer that waits looks at the lock again. */
const LOCK_POLL_MS = 50;
/**
 * A sealer's session that stops answering mid-transaction (a frozen worker) is ended
 * by PostgreSQL after this long, which frees the lock; a seal's own pauses (hashing
 * its readings) last well under a second.
 */
const IDLE_IN_SEAL = '60s';

/**
 * Seals one batch if one is due; undefined when nothing is due, or when another
 * sealer is still at work after the wait `waitForLock` and `lockWaitMs` allow.
 */
export async function sealBatch(
  pool: Pool,
  o: SealOptions,
): Promise<SealedBatch | undefined> {
  return transaction(pool, async (c) => {
    await c.query(`set local idle_in_transaction_session_timeout = '${IDLE_IN_SEAL}'`);
    const waitMs = o.waitForLock === false ? 0 : (o.lockWaitMs ?? 10_000);
    if (!(await takeSealLock(c, waitMs))) return undefined;
    const picked = await pickPending(c, o);
    if (picked.length === 0) return undefined;
    if (picked.length < o.max) {
      if (o.mode === 'full' || (o.mode === 'due' && !picked[0]!.due)) return undefined;
    }

    const leaves = picked.map((r) => readingLeaf(r));
    const tree = new MerkleTree(leaves);
    const ids = picked.map((p) => p.id);
    const id = await insertBatch(c, ids, tree.root, o.content);
    await c.query(
      `insert into anchor_proof (reading_id, reading_time, batch_id, leaf_index, leaf_hash)
       select u.id, u.t::timestamptz, $1, u.ord - 1, u.leaf
       from unnest($2::bigint[], $3::text[], $4::bytea[]) with ordinality
            as u(id, t, leaf, ord)`,
      [id, ids, picked.map((p) => p.pending_time), leaves],
    );
    await c.query('delete from anchor_pending where reading_id = any($1::bigint[])', [
      ids,
    ]);
    return { id, count: picked.length, root: tree.root };
  });
}

/**
 * Takes SEAL_LOCK for this transaction, waiting at most `waitMs` for another sealer;
 * false when it is still held then. Polled rather than waited for in PostgreSQL, so
 * that a sealer stuck elsewhere holds up this job only so long, and its job slot
 * goes back to the anchor jobs.
 */
async function takeSealLock(c: PoolClient, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const { rows } = await c.query<{ got: boolean }>(
      'select pg_try_advisory_xact_lock($1) as got',
      [SEAL_LOCK],
    );
    if (rows[0]?.got) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
}

type Picked = CanonicalReadingRow & { pending_time: string; due: boolean };

/**
 * The oldest pending readings, locked, in canonical form. Times stay text on their
 * way through: a JavaScript Date would drop the microseconds PostgreSQL keeps.
 */
async function pickPending(c: PoolClient, o: SealOptions): Promise<Picked[]> {
  const { rows } = await c.query<Picked & { found: boolean; pending_id: string }>({
    // Prepared once per connection: planning over every partition of `reading` costs
    // tens of milliseconds a time.
    name: 'anchor-seal-pick',
    text: `with picked as (
       select reading_id, reading_time, queued_at from anchor_pending
       where $3::timestamptz is null or queued_at <= $3
       order by queued_at, reading_id
       limit $1
       for update skip locked)
     select ${canonicalColumns('r')}, r.id is not null as found,
            p.reading_id::text as pending_id, p.reading_time::text as pending_time,
            p.queued_at <= now() - make_interval(secs => $2) as due
     from picked p left join reading r on r.id = p.reading_id and r.time = p.reading_time
     order by p.queued_at, p.reading_id`,
    values: [o.max, o.windowSeconds - CLOCK_TOLERANCE_SECONDS, o.before ?? null],
  });
  const missing = rows.filter((r) => !r.found).map((r) => r.pending_id);
  if (missing.length > 0) {
    throw new Error(
      `readings ${missing.slice(0, 5).join(', ')} are pending anchoring but no longer in ` +
        'the reading table; readings are append-only, so the database was changed by hand',
    );
  }
  return rows;
}

async function insertBatch(
  c: PoolClient,
  ids: readonly string[],
  root: Buffer,
  content: ManifestContent,
): Promise<string> {
  const { rows } = await c.query<{ id: string }>(
    `insert into anchor_batch (scheme, window_start, window_end, reading_count, root,
                               manifest_content)
     select $1, min(queued_at), max(queued_at), $2, $3, $4
     from anchor_pending where reading_id = any($5::bigint[])
     returning id::text as id`,
    [ANCHOR_SCHEME, ids.length, root, content, ids],
  );
  return rows[0]!.id;
}

/** True when some pending reading has waited at least `windowSeconds`. */
export async function hasDuePending(pool: Pool, windowSeconds: number): Promise<boolean> {
  const { rows } = await pool.query<{ due: boolean }>(
    `select exists (select 1 from anchor_pending
                    where queued_at <= now() - make_interval(secs => $1)) as due`,
    [windowSeconds],
  );
  return rows[0]?.due ?? false;
}

/** How many readings wait for a batch, and how long the oldest has waited (seconds). */
export async function pendingSummary(
  pool: Pool,
): Promise<{ readings: number; oldestSeconds: number | null }> {
  const { rows } = await pool.query<{ n: string; age: number | null }>(
    `select count(*)::text as n,
            extract(epoch from now() - min(queued_at))::float8 as age
     from anchor_pending`,
  );
  return { readings: Number(rows[0]?.n ?? 0), oldestSeconds: rows[0]?.age ?? null };
}

/** PostgreSQL's clock now, as timestamptz text: the `before` of a window's sealing. */
export async function databaseNow(pool: Pool): Promise<string> {
  const { rows } = await pool.query<{ now: string }>(
    'select clock_timestamp()::text as now',
  );
  return rows[0]!.now;
}
