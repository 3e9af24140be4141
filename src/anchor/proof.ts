/**
 * A reading's proof: everything needed to check, without this server, that the
 * reading existed unchanged when its batch was anchored. Its canonical bytes give the
 * leaf, the path leads from the leaf to the batch's root, and the ledger message at
 * (topic, sequence number) names that root, the batch's reading count and the CID of
 * the manifest that lists the leaf.
 */
import type { Pool } from '../db/pool.js';
import { getBatch, type BatchRow } from './batches.js';
import {
  canonicalReading,
  loadCanonicalReading,
  readingBytes,
  readingLeaf,
} from './canonicalReading.js';
import type { JsonValue } from './canonical.js';
import { MerkleTree } from './merkle.js';
import { getBatchLeaves, getProofRow, isPending } from './proofs.js';

/** The proof document, as the API serves it and `heru verify` reads it. */
export interface ProofDoc {
  scheme: string;
  reading_id: string;
  /** The reading's canonical JSON text (UTF-8 of these characters is what was hashed). */
  canonical: string;
  reading: JsonValue;
  /** Hex leaf hash the batch was sealed with. */
  leaf: string;
  leaf_index: number;
  /** Sibling hashes from the leaf up to the root, hex. */
  path: string[];
  root: string;
  count: number;
  batch_id: string;
  window: { from: string; to: string };
  manifest_cid: string | null;
  ledger: string | null;
  topic_id: string | null;
  sequence_number: number | null;
  consensus_time: string | null;
  transaction_id: string | null;
  running_hash: string | null;
  state: string;
}

export type ProofLookup =
  | { kind: 'proof'; proof: ProofDoc; unchanged: boolean }
  | { kind: 'pending'; batchId?: string; state?: string }
  | { kind: 'no-reading' };

/**
 * The proof of a reading as the database holds it now. `unchanged` says whether the
 * reading as stored still gives the leaf it was sealed with.
 */
export async function findProof(pool: Pool, readingId: string): Promise<ProofLookup> {
  const reading = await loadCanonicalReading(pool, readingId);
  if (!reading) return { kind: 'no-reading' };
  const row = await getProofRow(pool, readingId);
  if (!row) {
    return (await isPending(pool, readingId))
      ? { kind: 'pending' }
      : { kind: 'no-reading' };
  }
  const batch = (await getBatch(pool, row.batch_id))!;
  if (batch.state !== 'anchored')
    return { kind: 'pending', batchId: batch.id, state: batch.state };

  const { leaves } = await getBatchLeaves(pool, batch.id);
  const tree = new MerkleTree(leaves);
  return {
    kind: 'proof',
    unchanged: readingLeaf(reading).equals(row.leaf_hash),
    proof: {
      ...batchPart(batch),
      reading_id: readingId,
      canonical: readingBytes(reading).toString('utf8'),
      reading: canonicalReading(reading),
      leaf: row.leaf_hash.toString('hex'),
      leaf_index: row.leaf_index,
      path: tree.path(row.leaf_index).map((h) => h.toString('hex')),
    },
  };
}

/** The batch's part of every proof in it. */
export function batchPart(
  b: BatchRow,
): Omit<
  ProofDoc,
  'reading_id' | 'canonical' | 'reading' | 'leaf' | 'leaf_index' | 'path'
> {
  return {
    scheme: b.scheme,
    root: b.root.toString('hex'),
    count: b.reading_count,
    batch_id: b.id,
    window: { from: b.window_start, to: b.window_end },
    manifest_cid: b.manifest_cid,
    ledger: b.ledger,
    topic_id: b.topic_id,
    sequence_number: b.sequence_number === null ? null : Number(b.sequence_number),
    consensus_time: b.consensus_time,
    transaction_id: b.transaction_id,
    running_hash: b.running_hash?.toString('hex') ?? null,
    state: b.state,
  };
}
