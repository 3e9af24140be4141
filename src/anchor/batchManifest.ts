/**
 * The manifest of a sealed batch, rebuilt from the database: the same rows give the
 * same bytes, so a worker resuming after a crash computes the same CID. Refuses to
 * build it when the stored leaves no longer give the batch's root, or (for manifests
 * that carry readings) when a reading no longer gives its leaf.
 */
import type { Pool } from '../db/pool.js';
import type { BatchRow } from './batches.js';
import { readingLeaf } from './canonicalReading.js';
import { manifestBytes } from './manifest.js';
import { MerkleTree } from './merkle.js';
import { getBatchLeaves, getBatchReadings } from './proofs.js';

export async function buildBatchManifest(pool: Pool, b: BatchRow): Promise<Buffer> {
  const { readingIds, leaves } = await getBatchLeaves(pool, b.id);
  if (leaves.length !== b.reading_count || !new MerkleTree(leaves).root.equals(b.root)) {
    throw new Error(
      `batch ${b.id}: its ${leaves.length} stored leaves do not give its root over ` +
        `${b.reading_count} readings; anchor_proof was changed by hand`,
    );
  }
  const input = {
    batchId: b.id,
    window: { from: b.window_start, to: b.window_end },
    root: b.root,
    content: b.manifest_content,
    readingIds,
    leaves,
  };
  if (b.manifest_content === 'leaves') return manifestBytes(input);

  const readings = await getBatchReadings(pool, b.id);
  const changed = readings.findIndex((r, i) => !readingLeaf(r).equals(leaves[i]!));
  if (readings.length !== leaves.length || changed >= 0) {
    throw new Error(
      `batch ${b.id}: reading ${readings[changed]?.id ?? '?'} no longer gives the leaf ` +
        'it was sealed with; it was changed in the database after it was stored',
    );
  }
  return manifestBytes({ ...input, readings });
}
