import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT,
  MerkleTree,
  leafHash,
  nodeHash,
  rootFromPath,
  verifyInclusion,
} from '../src/anchor/merkle.js';

/** RFC 6962 §2.1 written out literally: the recursive definition of MTH. */
function referenceRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

/** RFC 6962 §2.1.1 written out literally: PATH(m, D[n]). */
function referencePath(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k
    ? [...referencePath(m, leaves.slice(0, k)), referenceRoot(leaves.slice(k))]
    : [...referencePath(m - k, leaves.slice(k)), referenceRoot(leaves.slice(0, k))];
}

const hex = (b: Buffer): string => b.toString('hex');
const leavesOf = (n: number): Buffer[] =>
  Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`reading ${i}`)));

// The inputs of the Certificate Transparency reference tests, and the roots of the
// trees over their first 1..8 entries.
const CT_INPUTS = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map((h) => Buffer.from(h, 'hex'));
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

describe('RFC 6962 Merkle trees', () => {
  it('hashes a leaf with a 0x00 prefix and a node with a 0x01 prefix', () => {
    expect(hex(leafHash(Buffer.alloc(0)))).toBe(
      createHash('sha256')
        .update(Buffer.from([0]))
        .digest('hex'),
    );
    const a = Buffer.alloc(32, 1);
    const b = Buffer.alloc(32, 2);
    expect(nodeHash(a, b)).toEqual(
      createHash('sha256')
        .update(Buffer.concat([Buffer.from([1]), a, b]))
        .digest(),
    );
  });

  it('gives the empty tree the hash of the empty string', () => {
    expect(new MerkleTree([]).root).toEqual(EMPTY_ROOT);
    expect(hex(EMPTY_ROOT)).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('matches the Certificate Transparency reference roots for 1 to 8 leaves', () => {
    const leaves = CT_INPUTS.map((d) => leafHash(d));
    for (let n = 1; n <= 8; n += 1) {
      expect(hex(new MerkleTree(leaves.slice(0, n)).root), `${n} leaves`).toBe(
        CT_ROOTS[n - 1],
      );
    }
  });

  it('gives the same root and paths as the recursive definition for every size to 70', () => {
    for (let n = 1; n <= 70; n += 1) {
      const leaves = leavesOf(n);
      const tree = new MerkleTree(leaves);
      expect(tree.root).toEqual(referenceRoot(leaves));
      for (let m = 0; m < n; m += 1)
        expect(tree.path(m)).toEqual(referencePath(m, leaves));
    }
  });

  it('verifies every path of trees up to 70 leaves', () => {
    for (let n = 1; n <= 70; n += 1) {
      const leaves = leavesOf(n);
      const tree = new MerkleTree(leaves);
      for (let m = 0; m < n; m += 1) {
        expect(verifyInclusion(leaves[m]!, m, n, tree.path(m), tree.root)).toBe(true);
      }
    }
  });

  it('refuses a changed leaf, a wrong index, a wrong size and a shortened path', () => {
    const leaves = leavesOf(13);
    const tree = new MerkleTree(leaves);
    const path = tree.path(6);
    const other = leafHash(Buffer.from('reading 6, changed'));
    expect(verifyInclusion(other, 6, 13, path, tree.root)).toBe(false);
    expect(verifyInclusion(leaves[6]!, 7, 13, path, tree.root)).toBe(false);
    expect(verifyInclusion(leaves[6]!, 6, 7, path, tree.root)).toBe(false);
    expect(verifyInclusion(leaves[6]!, 6, 13, path.slice(1), tree.root)).toBe(false);
    expect(rootFromPath(leaves[6]!, 6, 13, [...path, path[0]!])).toBeUndefined();
    expect(rootFromPath(leaves[6]!, 13, 13, path)).toBeUndefined();
  });

  it('treats a tree of one leaf as its leaf, with an empty path', () => {
    const [leaf] = leavesOf(1);
    const tree = new MerkleTree([leaf!]);
    expect(tree.root).toEqual(leaf);
    expect(tree.path(0)).toEqual([]);
    expect(verifyInclusion(leaf!, 0, 1, [], leaf!)).toBe(true);
  });

  it('builds a tree of 10,000 leaves whose deepest paths hold 14 hashes', () => {
    const tree = new MerkleTree(leavesOf(10_000));
    expect(tree.path(0)).toHaveLength(14);
    expect(
      verifyInclusion(tree.leaf(9_999), 9_999, 10_000, tree.path(9_999), tree.root),
    ).toBe(true);
    expect(
      verifyInclusion(tree.leaf(4321), 4321, 10_000, tree.path(4321), tree.root),
    ).toBe(true);
  });
});
