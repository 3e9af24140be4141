/**
 * The counts a fault scenario ends with, read straight from PostgreSQL: readings
 * stored, stored more than once by their natural key, and how they were anchored
 * (every reading in exactly one batch, every batch anchored by one ledger message).
 */
import type pg from 'pg';

export interface StoredCounts {
  /** Rows in `reading`. */
  readings: number;
  /** Rows beyond the first of the same natural key (must be 0). */
  duplicates: number;
}

/**
 * The natural key as this server chooses it: device, sensor, boot and sequence when
 * the reading has them, else device, sensor and device time.
 */
const KEY = `(device_id, sensor, coalesce(boot::text || '/' || seq::text, device_time::text))`;

export async function storedCounts(sql: pg.Pool): Promise<StoredCounts> {
  const { rows } = await sql.query<{ n: number; keys: number }>(
    `select count(*)::int as n, count(distinct ${KEY})::int as keys from reading`,
  );
  const r = rows[0]!;
  return { readings: r.n, duplicates: r.n - r.keys };
}

export interface AnchorCounts {
  /** Batches in state `anchored`, and in any state. */
  anchoredBatches: number;
  batches: number;
  /** Readings whose batch is anchored. */
  anchoredReadings: number;
  /** Readings in no batch yet (still in `anchor_pending`). */
  pendingReadings: number;
  /** Readings with neither a proof row nor a pending row (must be 0). */
  orphanReadings: number;
  /** Anchored batches whose reading count disagrees with their proof rows (must be 0). */
  miscountedBatches: number;
}

export async function anchorCounts(sql: pg.Pool): Promise<AnchorCounts> {
  const { rows } = await sql.query<AnchorCounts>(
    `select
       (select count(*)::int from anchor_batch where state = 'anchored') as "anchoredBatches",
       (select count(*)::int from anchor_batch) as "batches",
       (select count(*)::int from anchor_proof p join anchor_batch b on b.id = p.batch_id
         where b.state = 'anchored') as "anchoredReadings",
       (select count(*)::int from anchor_pending) as "pendingReadings",
       (select count(*)::int from reading r
         where not exists (select 1 from anchor_proof p where p.reading_id = r.id)
           and not exists (select 1 from anchor_pending q where q.reading_id = r.id))
         as "orphanReadings",
       (select count(*)::int from anchor_batch b
         where b.reading_count <> (select count(*) from anchor_proof p
                                   where p.batch_id = b.id)) as "miscountedBatches"`,
  );
  return rows[0]!;
}

/** The anchored batches with the CID and ledger message they recorded. */
export async function anchoredBatches(
  sql: pg.Pool,
): Promise<Array<{ id: string; cid: string; sequence: number }>> {
  const { rows } = await sql.query<{ id: string; cid: string; sequence: number }>(
    `select id::text, manifest_cid as cid, sequence_number::int as sequence
     from anchor_batch where state = 'anchored' order by id`,
  );
  return rows;
}

/**
 * Ledger messages per batch id, from the JSON messages of a ledger
 * (`{"batch":"7","cid":…}`); a batch anchored twice shows a count of 2.
 */
export function messagesPerBatch(messages: Iterable<Buffer>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) {
    const batch = (JSON.parse(m.toString('utf8')) as { batch: string }).batch;
    counts.set(batch, (counts.get(batch) ?? 0) + 1);
  }
  return counts;
}

/** Batches the ledger holds more than one message for. */
export function anchoredTwice(perBatch: Map<string, number>): number {
  return [...perBatch.values()].filter((n) => n > 1).length;
}

/** Polls `read` every `everyMs` until `done` holds for its value; gives up after `ms`. */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  ms: number,
  what: string,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`gave up after ${ms} ms waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
