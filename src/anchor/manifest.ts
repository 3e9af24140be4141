/**
 * The manifest of a batch: the document pinned to IPFS whose CID goes to the ledger.
 * It names the scheme, the batch's window, its root, and every leaf in leaf order
 * with the id of its reading (and, when the batch says so, the canonical readings
 * themselves). Its bytes are RFC 8785 JSON, so rebuilding it from the database after a
 * crash gives the same bytes and the same CID.
 */
import { canonicalBytes, type JsonValue } from './canonical.js';
import { canonicalReading, type CanonicalReadingRow } from './canonicalReading.js';
import { MerkleTree } from './merkle.js';
import { ANCHOR_SCHEME, SCHEME_RULES, type ManifestContent } from './scheme.js';

/** The parsed manifest, as a verifier reads it. */
export interface Manifest {
  scheme: string;
  batchId: string;
  window: { from: string; to: string };
  count: number;
  root: Buffer;
  readingIds: string[];
  leaves: Buffer[];
  /** The canonical readings in leaf order, when the manifest carries them. */
  readings?: Array<Record<string, JsonValue>>;
}

export interface ManifestInput {
  batchId: string;
  /** UTC times with microseconds, as canonical readings write them. */
  window: { from: string; to: string };
  root: Buffer;
  content: ManifestContent;
  readingIds: readonly string[];
  leaves: readonly Buffer[];
  /** Required when `content` is `readings`, in leaf order. */
  readings?: readonly CanonicalReadingRow[];
}

/** The manifest's bytes. */
export function manifestBytes(m: ManifestInput): Buffer {
  const doc: Record<string, JsonValue> = {
    scheme: ANCHOR_SCHEME,
    rules: SCHEME_RULES,
    batch_id: m.batchId,
    window: { from: m.window.from, to: m.window.to },
    count: m.leaves.length,
    root: m.root.toString('hex'),
    reading_ids: [...m.readingIds],
    leaves: m.leaves.map((l) => l.toString('hex')),
  };
  if (m.content === 'readings') {
    if (!m.readings || m.readings.length !== m.leaves.length) {
      throw new Error(`manifest of batch ${m.batchId}: one reading per leaf is needed`);
    }
    doc.readings = m.readings.map((r) => canonicalReading(r));
  }
  return canonicalBytes(doc);
}

/**
 * Reads manifest bytes and checks that they hang together: the scheme is known, one
 * reading id per leaf, the count matches and the leaves give the root. Throws with the
 * reason when they do not.
 */
export function parseManifest(bytes: Uint8Array): Manifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new Error('the manifest is not JSON');
  }
  const d = doc as Record<string, unknown>;
  if (d.scheme !== ANCHOR_SCHEME) {
    throw new Error(
      `the manifest's scheme is ${JSON.stringify(d.scheme)}, not ${ANCHOR_SCHEME}`,
    );
  }
  const leaves = hexList(d.leaves, 'leaves');
  const readingIds = stringList(d.reading_ids, 'reading_ids');
  const window = d.window as { from?: unknown; to?: unknown } | undefined;
  if (
    typeof d.batch_id !== 'string' ||
    typeof window?.from !== 'string' ||
    typeof window.to !== 'string'
  ) {
    throw new Error('the manifest lacks its batch id or window');
  }
  if (typeof d.root !== 'string' || !/^[0-9a-f]{64}$/.test(d.root)) {
    throw new Error('the manifest has no 32-byte hex root');
  }
  if (readingIds.length !== leaves.length || d.count !== leaves.length) {
    throw new Error('the manifest lists a different number of leaves, ids and count');
  }
  const root = Buffer.from(d.root, 'hex');
  if (!new MerkleTree(leaves).root.equals(root)) {
    throw new Error("the manifest's leaves do not give its root");
  }
  const m: Manifest = {
    scheme: d.scheme,
    batchId: d.batch_id,
    window: { from: window.from, to: window.to },
    count: leaves.length,
    root,
    readingIds,
    leaves,
  };
  if (Array.isArray(d.readings))
    m.readings = d.readings as Array<Record<string, JsonValue>>;
  return m;
}

function hexList(v: unknown, name: string): Buffer[] {
  if (
    !Array.isArray(v) ||
    !v.every((x) => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x))
  ) {
    throw new Error(`the manifest's ${name} are not 32-byte hex hashes`);
  }
  return (v as string[]).map((x) => Buffer.from(x, 'hex'));
}

function stringList(v: unknown, name: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new Error(`the manifest's ${name} are not strings`);
  }
  return v;
}
