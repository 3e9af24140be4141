/**
 * Queries on `anchor_proof`: a reading's leaf and its place in its batch, and a
 * batch's leaves in order (from which any of its readings' paths is computed).
 */
import type { Pool, PoolClient } from '../db/pool.js';
import { canonicalColumns, type CanonicalReadingRow } from './canonicalReading.js';

export interface ProofRow {
  reading_id: string;
  batch_id: string;
  leaf_index: number;
  leaf_hash: Buffer;
}

export interface BatchLeaves {
  readingIds: string[];
  leaves: Buffer[];
}

/** The proof row of a reading, or undefined when it is not in a batch yet. */
export async function getProofRow(
  db: Pool | PoolClient,
  readingId: string,
): Promise<ProofRow | undefined> {
  const { rows } = await db.query<ProofRow>(
    `select reading_id::text as reading_id, batch_id::text as batch_id, leaf_index,
            leaf_hash
     from anchor_proof where reading_id = $1`,
    [readingId],
  );
  return rows[0];
}

/** True when the reading waits in anchor_pending for a batch. */
export async function isPending(
  db: Pool | PoolClient,
  readingId: string,
): Promise<boolean> {
  const { rows } = await db.query('select 1 from anchor_pending where reading_id = $1', [
    readingId,
  ]);
  return rows.length > 0;
}

/** Every leaf of a batch with its reading id, in leaf order. */
export async function getBatchLeaves(
  db: Pool | PoolClient,
  batchId: string,
): Promise<BatchLeaves> {
  const { rows } = await db.query<{ reading_id: string; leaf_hash: Buffer }>(
    `select reading_id::text as reading_id, leaf_hash from anchor_proof
     where batch_id = $1 order by leaf_index`,
    [batchId],
  );
  return {
    readingIds: rows.map((r) => r.reading_id),
    leaves: rows.map((r) => r.leaf_hash),
  };
}

/** The canonical rows of a batch's readings as stored now, in leaf order. */
export async function getBatchReadings(
  db: Pool | PoolClient,
  batchId: string,
): Promise<CanonicalReadingRow[]> {
  const { rows } = await db.query<CanonicalReadingRow>(
    `select ${canonicalColumns('r')}
     from anchor_proof p join reading r on r.id = p.reading_id and r.time = p.reading_time
     where p.batch_id = $1 order by p.leaf_index`,
    [batchId],
  );
  return rows;
}
