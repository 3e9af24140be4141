/**
 * Checking a proof end to end, trusting only the ledger and content addressing:
 *
 * 1. reading  — the canonical bytes give the leaf the batch was sealed with;
 * 2. path     — the path leads from that leaf to the batch's root;
 * 3. ledger   — the ledger message at (topic, sequence number) names that root, the
 *               batch's reading count and the manifest's CID;
 * 4. manifest — the file behind the CID has that CID, gives the same root, and lists
 *               the leaf at the reading's index under the reading's id.
 *
 * Every check is reported in words, whether it holds or not.
 */
import type { IpfsBackend, LedgerBackend } from './backends.js';
import { cidOf, sameCid } from './cid.js';
import type { JsonValue } from './canonical.js';
import { parseLedgerMessage, type LedgerAnchor } from './ledgerMessage.js';
import { parseManifest, type Manifest } from './manifest.js';
import { leafHash, rootFromPath } from './merkle.js';
import type { ProofDoc } from './proof.js';

/** What verification needs of a ledger: its messages. */
export type LedgerReader = Pick<LedgerBackend, 'name' | 'readMessage'>;
/** What verification needs of IPFS: files by CID. */
export type ManifestReader = Pick<IpfsBackend, 'name' | 'fetch'>;

export interface VerifyCheck {
  what: 'reading' | 'path' | 'ledger' | 'manifest';
  holds: boolean;
  detail: string;
}

export interface VerifyReport {
  holds: boolean;
  checks: VerifyCheck[];
  /** When all hold: the consensus time by which the reading existed as it is. */
  existedBy?: string;
}

const short = (hex: string): string => `${hex.slice(0, 16)}…`;

/** Checks `proof` for the reading whose canonical bytes are `canonical`. */
export async function verifyProof(
  proof: ProofDoc,
  canonical: Buffer,
  deps: { ledger: LedgerReader; ipfs: ManifestReader },
): Promise<VerifyReport> {
  const leaf = leafHash(canonical);
  const checks: VerifyCheck[] = [readingCheck(proof, leaf), pathCheck(proof, leaf)];
  const ledger = await ledgerCheck(proof, deps.ledger);
  checks.push(ledger.check);
  checks.push(await manifestCheck(proof, leaf, canonical, ledger.anchor, deps.ipfs));
  const holds = checks.every((c) => c.holds);
  return {
    holds,
    checks,
    ...(holds && ledger.consensusTime ? { existedBy: ledger.consensusTime } : {}),
  };
}

function readingCheck(proof: ProofDoc, leaf: Buffer): VerifyCheck {
  const place = `leaf ${proof.leaf_index} of batch ${proof.batch_id}`;
  if (leaf.toString('hex') === proof.leaf) {
    return {
      what: 'reading',
      holds: true,
      detail: `the reading gives ${short(proof.leaf)}, ${place}`,
    };
  }
  return {
    what: 'reading',
    holds: false,
    detail:
      `the reading as given hashes to ${short(leaf.toString('hex'))}, but ${place} was ` +
      `sealed as ${short(proof.leaf)}: the reading changed after it was anchored`,
  };
}

function pathCheck(proof: ProofDoc, leaf: Buffer): VerifyCheck {
  const path = proof.path.map((h) => Buffer.from(h, 'hex'));
  const root = rootFromPath(leaf, proof.leaf_index, proof.count, path);
  if (root?.toString('hex') === proof.root) {
    return {
      what: 'path',
      holds: true,
      detail: `${path.length} hashes lead from the leaf to root ${short(proof.root)} of ${proof.count} reading(s)`,
    };
  }
  return {
    what: 'path',
    holds: false,
    detail: root
      ? `the path leads from this reading's leaf to ${short(root.toString('hex'))}, not to the batch's root ${short(proof.root)}`
      : `the path cannot belong to leaf ${proof.leaf_index} of a tree of ${proof.count} readings`,
  };
}

interface LedgerResult {
  check: VerifyCheck;
  anchor?: LedgerAnchor;
  /** The ledger's own consensus time of the message. */
  consensusTime?: string;
}

async function ledgerCheck(proof: ProofDoc, ledger: LedgerReader): Promise<LedgerResult> {
  const fail = (detail: string): LedgerResult => ({
    check: { what: 'ledger', holds: false, detail },
  });
  if (proof.topic_id === null || proof.sequence_number === null) {
    return fail('the proof names no ledger message: the batch is not anchored yet');
  }
  if (proof.ledger && proof.ledger !== ledger.name) {
    return fail(
      `the batch was anchored on the ${proof.ledger} ledger, but this check reads the ${ledger.name} one; configure that ledger`,
    );
  }
  const where = `message ${proof.sequence_number} of topic ${proof.topic_id}`;
  const message = await ledger
    .readMessage(proof.topic_id, proof.sequence_number)
    .catch((err: Error) => err);
  if (message instanceof Error)
    return fail(`${where} could not be read: ${message.message}`);
  if (!message) return fail(`the ${ledger.name} ledger has no ${where}`);
  let anchor: LedgerAnchor;
  try {
    anchor = parseLedgerMessage(message.message);
  } catch (err) {
    return fail(`${where}: ${(err as Error).message}`);
  }
  const wrong = differences(anchor, proof);
  if (wrong.length > 0) {
    return {
      ...fail(`${where} names ${wrong.join(', ')}, not what the proof says`),
      anchor,
    };
  }
  const detail = `${where}, ordered at ${message.consensusTime}, names root ${short(proof.root)}, ${anchor.count} reading(s) and CID ${anchor.cid}`;
  return {
    anchor,
    consensusTime: message.consensusTime,
    check: { what: 'ledger', holds: true, detail },
  };
}

/** What the ledger message says that the proof does not. */
function differences(anchor: LedgerAnchor, proof: ProofDoc): string[] {
  const root = anchor.root.toString('hex');
  return [
    root !== proof.root && `root ${short(root)}`,
    anchor.count !== proof.count && `${anchor.count} readings`,
    !(proof.manifest_cid && sameCid(anchor.cid, proof.manifest_cid)) &&
      `CID ${anchor.cid}`,
    anchor.batchId !== proof.batch_id && `batch ${anchor.batchId}`,
  ].filter((w): w is string => typeof w === 'string');
}

async function manifestCheck(
  proof: ProofDoc,
  leaf: Buffer,
  canonical: Buffer,
  anchor: LedgerAnchor | undefined,
  ipfs: ManifestReader,
): Promise<VerifyCheck> {
  const fail = (detail: string): VerifyCheck => ({
    what: 'manifest',
    holds: false,
    detail,
  });
  const cid = anchor?.cid ?? proof.manifest_cid;
  if (!cid) return fail('no manifest CID is known for the batch');
  const bytes = await ipfs.fetch(cid).catch((err: Error) => err);
  if (bytes instanceof Error)
    return fail(
      `the manifest ${cid} could not be fetched from ${ipfs.name}: ${bytes.message}`,
    );
  const actual = await cidOf(bytes);
  if (!sameCid(actual, cid))
    return fail(`the file fetched for ${cid} has CID ${actual}: it is not the manifest`);
  let manifest: Manifest;
  try {
    manifest = parseManifest(bytes);
  } catch (err) {
    return fail(`the manifest ${cid} is unusable: ${(err as Error).message}`);
  }
  if (anchor && !manifest.root.equals(anchor.root))
    return fail(`the manifest's root is not the one on the ledger`);
  const i = proof.leaf_index;
  if (manifest.readingIds[i] !== proof.reading_id) {
    return fail(
      `the manifest lists reading ${manifest.readingIds[i] ?? 'none'} at index ${i}, not reading ${proof.reading_id}`,
    );
  }
  if (!manifest.leaves[i]!.equals(leaf)) {
    const changes = manifest.readings
      ? changedFields(manifest.readings[i], canonical)
      : '';
    return fail(
      `the manifest lists another leaf for reading ${proof.reading_id} (${short(manifest.leaves[i]!.toString('hex'))})${changes}`,
    );
  }
  return {
    what: 'manifest',
    holds: true,
    detail: `the manifest ${cid} (${bytes.length} bytes) lists this leaf at index ${i} for reading ${proof.reading_id}`,
  };
}

/** `; as anchored temperature_c was 4.5, now 4.6` for the fields that differ. */
export function changedFields(
  anchored: JsonValue | undefined,
  canonical: Buffer,
): string {
  if (!anchored || typeof anchored !== 'object' || Array.isArray(anchored)) return '';
  const now = JSON.parse(canonical.toString('utf8')) as Record<string, JsonValue>;
  const was = anchored as Record<string, JsonValue>;
  const diffs = Object.keys({ ...was, ...now })
    .sort()
    .filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]))
    .map(
      (k) =>
        `${k} was ${JSON.stringify(was[k] ?? null)}, now ${JSON.stringify(now[k] ?? null)}`,
    );
  return diffs.length > 0 ? `; as anchored ${diffs.join('; ')}` : '';
}
