import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cidOf, normalCid, sameCid } from '../src/anchor/cid.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

// A second, independent way to the same CIDs: the UnixFS and dag-pb encodings
// written out by hand from their protobuf definitions, hashed with node:crypto.

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

const lengthDelimited = (tag: number, body: Uint8Array | number[]): number[] => [
  tag,
  ...varint(body.length),
  ...body,
];

function cidBytes(codec: 'raw' | 'dag-pb', block: Uint8Array): Uint8Array {
  const digest = createHash('sha256').update(block).digest();
  return Uint8Array.from([0x01, codec === 'raw' ? 0x55 : 0x70, 0x12, 0x20, ...digest]);
}

function base32(bytes: Uint8Array): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = 'b';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** A file of up to 174 chunks: raw leaves under one dag-pb UnixFS file node. */
function handMadeCid(bytes: Uint8Array, chunk = 262_144): string {
  if (bytes.length <= chunk) return base32(cidBytes('raw', bytes));
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
  const unixfs = [0x08, 0x02, 0x18, ...varint(bytes.length)];
  for (const c of chunks) unixfs.push(0x20, ...varint(c.length));
  const node: number[] = [];
  for (const c of chunks) {
    const link = [...lengthDelimited(0x0a, cidBytes('raw', c)), 0x12, 0x00];
    link.push(0x18, ...varint(c.length));
    node.push(...lengthDelimited(0x12, link));
  }
  node.push(...lengthDelimited(0x0a, unixfs));
  return base32(cidBytes('dag-pb', Uint8Array.from(node)));
}

const pattern = (n: number): Uint8Array => new Uint8Array(n).map((_, i) => (i * 7) % 251);

describe('cidOf', () => {
  it('gives the CID v1 an IPFS node gives for the empty file', async () => {
    expect(await cidOf(new Uint8Array())).toBe(
      'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku',
    );
  });

  it('gives the raw-leaf CID v1 for small strings', async () => {
    expect(await cidOf(text('hello world'))).toBe(
      'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e',
    );
    expect(await cidOf(text('hello world\n'))).toBe(handMadeCid(text('hello world\n')));
  });

  it('keeps a file of exactly one chunk as a single raw leaf', async () => {
    const bytes = pattern(262_144);
    const cid = await cidOf(bytes);
    expect(cid.startsWith('bafkrei')).toBe(true);
    expect(cid).toBe(handMadeCid(bytes));
  });

  it('builds a dag-pb root over raw leaves once a file passes 256 KiB', async () => {
    for (const size of [262_145, 600_000, 2_000_000]) {
      const bytes = pattern(size);
      const cid = await cidOf(bytes);
      expect(cid.startsWith('bafybei')).toBe(true);
      expect(cid).toBe(handMadeCid(bytes));
    }
  });

  it('gives different CIDs for bytes that differ in one place', async () => {
    const a = pattern(300_000);
    const b = Uint8Array.from(a);
    b[299_999] = (b[299_999] ?? 0) ^ 1;
    expect(await cidOf(a)).not.toBe(await cidOf(b));
  });
});

describe('sameCid', () => {
  // The well-known CID v0 of the empty file and its CID v1 form (same dag-pb DAG).
  const v0 = 'QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH';
  const v1 = 'bafybeif7ztnhq65lumvvtr4ekcwd2ifwgm3awq4zfr3srh462rwyinlb4y';

  it('treats the v0 and v1 strings of one DAG as the same CID', () => {
    expect(sameCid(v0, v1)).toBe(true);
    expect(normalCid(v0)).toBe(v1);
  });

  it('tells different content apart', async () => {
    expect(sameCid(v1, await cidOf(new Uint8Array()))).toBe(false);
    expect(sameCid(await cidOf(text('a')), await cidOf(text('b')))).toBe(false);
  });

  it('answers false, not an exception, for something that is not a CID', () => {
    expect(sameCid('not-a-cid', v1)).toBe(false);
    expect(() => normalCid('not-a-cid')).toThrow();
  });
});
