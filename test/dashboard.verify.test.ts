import { describe, expect, it } from 'vitest';
import { canonicalize, type JsonValue } from '../src/anchor/canonical.js';
import {
  canonicalReading,
  readingLeaf,
  readingText,
  type CanonicalReadingRow,
} from '../src/anchor/canonicalReading.js';
import { leafHash, MerkleTree } from '../src/anchor/merkle.js';
import { canonicalJson, type Json } from '../web/src/verify/canonical.js';
import { fromHex, leafHashOf, rootOfPath, toHex } from '../web/src/verify/merkle.js';
import { checkProof, type ProofDoc } from '../web/src/verify/proof.js';

// The dashboard checks proofs with its own code (web/src/verify), not the server's:
// these tests hold the two to the same answers.

const VALUES: JsonValue[] = [
  { b: 1, a: [true, null, 'x'], é: 'ünïcode', '\u20ac': 1e21, '': -0 },
  { n: [0.1 + 0.2, 5e-7, 123456789012345680000, -1.5, 4.62] },
  { s: 'quote " backslash \\ newline \n tab \t bell \u0007 emoji 🧊' },
  { nested: { z: { y: { x: [] } }, a: {} } },
];

function row(i: number): CanonicalReadingRow {
  return {
    id: String(1000 + i),
    device_id: 'fridge-7',
    sensor: '',
    time: `2026-01-05T10:${String(i % 60).padStart(2, '0')}:00.123456Z`,
    time_source: 'device',
    device_time: null,
    received_at: '2026-01-05T10:00:01.000000Z',
    boot: '12',
    seq: String(i),
    temperature_c: 4 + i / 10,
    humidity_pct: 45.6,
    battery_pct: null,
    battery_v: null,
    rssi_dbm: -61,
    quality: 'good',
    flags: [],
    raw_message_id: String(9000 + i),
  };
}

function proofFor(rows: CanonicalReadingRow[], index: number): ProofDoc {
  const tree = new MerkleTree(rows.map(readingLeaf));
  const r = rows[index]!;
  return {
    scheme: 'heru-anchor/1',
    reading_id: r.id,
    canonical: readingText(r),
    reading: canonicalReading(r) as ProofDoc['reading'],
    leaf: tree.leaf(index).toString('hex'),
    leaf_index: index,
    path: tree.path(index).map((h) => h.toString('hex')),
    root: tree.root.toString('hex'),
    count: rows.length,
    batch_id: '3',
    manifest_cid: null,
    ledger: 'local',
    topic_id: 'local',
    sequence_number: 3,
    consensus_time: null,
    transaction_id: null,
  };
}

const shown = (r: CanonicalReadingRow) => ({
  id: r.id,
  device_id: r.device_id,
  time: new Date(Date.parse(r.time)).toISOString(),
  temperature_c: r.temperature_c,
  humidity_pct: r.humidity_pct,
});

describe('the browser verification', () => {
  it('canonicalizes JSON exactly as the server does (RFC 8785)', () => {
    for (const v of VALUES) expect(canonicalJson(v as Json)).toBe(canonicalize(v));
  });

  it('hashes leaves and follows Merkle paths to the same root for every tree up to 40 leaves', async () => {
    for (let n = 1; n <= 40; n += 1) {
      const leaves = Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`r${i}`)));
      const tree = new MerkleTree(leaves);
      for (let i = 0; i < n; i += 1) {
        const root = await rootOfPath(leaves[i]!, i, n, tree.path(i));
        expect(toHex(root!), `leaf ${i} of ${n}`).toBe(tree.root.toString('hex'));
      }
    }
    expect(toHex(await leafHashOf(Buffer.from('x')))).toBe(
      leafHash(Buffer.from('x')).toString('hex'),
    );
  });

  it('holds every check for an untouched reading', async () => {
    const rows = Array.from({ length: 13 }, (_, i) => row(i));
    const checks = await checkProof(proofFor(rows, 6), shown(rows[6]!));
    expect(checks.map((c) => [c.what, c.holds])).toEqual([
      ['canonical', true],
      ['reading', true],
      ['leaf', true],
      ['path', true],
    ]);
  });

  it('fails the leaf when the reading was changed after anchoring, even if the proof text was changed too', async () => {
    const rows = Array.from({ length: 5 }, (_, i) => row(i));
    const proof = proofFor(rows, 2);
    const changed = { ...rows[2]!, temperature_c: 4.1 };
    proof.reading = canonicalReading(changed) as ProofDoc['reading'];
    proof.canonical = readingText(changed);
    const checks = await checkProof(proof, shown(changed));
    expect(checks.find((c) => c.what === 'canonical')!.holds).toBe(true);
    expect(checks.find((c) => c.what === 'leaf')).toMatchObject({ holds: false });
  });

  it('fails when the proof is of another reading than the one shown, or its path is cut', async () => {
    const rows = Array.from({ length: 9 }, (_, i) => row(i));
    const other = await checkProof(proofFor(rows, 3), shown(rows[4]!));
    expect(other.find((c) => c.what === 'reading')).toMatchObject({ holds: false });
    const cut = proofFor(rows, 3);
    cut.path = cut.path.slice(1);
    const checks = await checkProof(cut, shown(rows[3]!));
    expect(checks.find((c) => c.what === 'path')).toMatchObject({ holds: false });
    expect(() => fromHex('zz')).toThrow(/not hex/);
  });
});
