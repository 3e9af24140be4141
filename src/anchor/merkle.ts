/**
 * Merkle trees with the hashing of RFC 6962 (Certificate Transparency), §2.1:
 *
 * - a leaf hash is SHA-256(0x00 || data), an interior node SHA-256(0x01 || left || right),
 *   so a leaf can never pass for a node;
 * - a tree of n > 1 leaves splits at k, the largest power of two below n: the left
 *   subtree holds the first k leaves, the right one the rest.
 *
 * Built bottom-up, level by level: pairing neighbours from the left and carrying an
 * odd last node up unchanged gives exactly the RFC's split, with one hash per node.
 * An inclusion path lists sibling hashes from the leaf up to the root (RFC 6962
 * §2.1.1); it is checked with the algorithm of RFC 9162 §2.1.3.2.
 */
import { createHash } from 'node:crypto';

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** SHA-256(0x00 || data): the hash of one leaf, 32 bytes. */
export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** SHA-256(0x01 || left || right): the hash of an interior node, 32 bytes. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** The root of a tree with no leaves: SHA-256 of nothing. */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/** A tree over leaf hashes, every level kept so that paths cost no further hashing. */
export class MerkleTree {
  private readonly levels: Buffer[][];

  /** `leaves` are leaf hashes (see leafHash), in leaf-index order. */
  constructor(leaves: readonly Buffer[]) {
    this.levels = [leaves.slice()];
    let level = this.levels[0]!;
    while (level.length > 1) {
      const up: Buffer[] = [];
      for (let i = 0; i + 1 < level.length; i += 2)
        up.push(nodeHash(level[i]!, level[i + 1]!));
      if (level.length % 2 === 1) up.push(level[level.length - 1]!);
      this.levels.push(up);
      level = up;
    }
  }

  get size(): number {
    return this.levels[0]!.length;
  }

  get root(): Buffer {
    return this.size === 0 ? EMPTY_ROOT : this.levels[this.levels.length - 1]![0]!;
  }

  leaf(index: number): Buffer {
    this.checkIndex(index);
    return this.levels[0]![index]!;
  }

  /** Sibling hashes from the leaf at `index` up to the root (the RFC 6962 audit path). */
  path(index: number): Buffer[] {
    this.checkIndex(index);
    const path: Buffer[] = [];
    let i = index;
    for (let depth = 0; depth < this.levels.length - 1; depth += 1) {
      const level = this.levels[depth]!;
      const sibling = i ^ 1;
      // A last node without a right neighbour is carried up: nothing to add.
      if (sibling < level.length) path.push(level[sibling]!);
      i >>= 1;
    }
    return path;
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(
        `leaf index ${index} is outside a tree of ${this.size} leaves`,
      );
    }
  }
}

/**
 * The root that `path` leads to from the leaf at `index` of a tree of `size` leaves,
 * or undefined when the path cannot belong to such a tree (too short or too long).
 */
export function rootFromPath(
  leaf: Uint8Array,
  index: number,
  size: number,
  path: readonly Uint8Array[],
): Buffer | undefined {
  if (!Number.isInteger(index) || index < 0 || index >= size) return undefined;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of path) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      // Skip the levels where this node was the last one and was carried up.
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

/** True when `path` proves the leaf at `index` is in the tree of `size` leaves with `root`. */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  path: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const r = rootFromPath(leaf, index, size, path);
  return r !== undefined && r.equals(root);
}
