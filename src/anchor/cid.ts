import { CID } from 'multiformats/cid';

/**
 * The DAG an IPFS node builds for one file when asked for CID version 1 (`ipfs add
 * --cid-version=1`, Pinata's `cidVersion: 1`): chunks of 256 KiB stored as raw
 * leaves, a balanced tree of dag-pb UnixFS nodes with at most 174 links each, and a
 * file of one chunk reduced to its raw leaf (so small files get a `bafkrei…` CID).
 */
const CHUNK_BYTES = 262_144;
const LINKS_PER_NODE = 174;

/** Keeps nothing: only the CIDs are wanted, not the blocks. */
const discard = { put: (cid: CID): CID => cid };

/**
 * The CID v1 (base32) that Pinata or an IPFS node gives for a file holding `bytes`
 * when asked for CID version 1, computed here without any network.
 */
export async function cidOf(bytes: Uint8Array): Promise<string> {
  // Imported at the first CID rather than at start: the importer is slow to load.
  const [{ importer }, { fixedSize }, { balanced }] = await Promise.all([
    import('ipfs-unixfs-importer'),
    import('ipfs-unixfs-importer/chunker'),
    import('ipfs-unixfs-importer/layout'),
  ]);
  const entries = importer([{ content: bytes }], discard, {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    wrapWithDirectory: false,
    chunker: fixedSize({ chunkSize: CHUNK_BYTES }),
    layout: balanced({ maxChildrenPerNode: LINKS_PER_NODE }),
  });
  let root: CID | undefined;
  for await (const entry of entries) root = entry.cid;
  if (!root) throw new Error('the UnixFS importer gave no CID for the file');
  return root.toV1().toString();
}

/**
 * The one normal form of a CID string: version 1 in base32. A v0 string (`Qm…`) and
 * its v1 form (`bafy…`) name the same DAG and give the same normal form. Throws when
 * `cid` is not a CID.
 */
export function normalCid(cid: string): string {
  return CID.parse(cid.trim()).toV1().toString();
}

/** True when `a` and `b` name the same content (v0 or v1, any base the library reads). */
export function sameCid(a: string, b: string): boolean {
  try {
    return normalCid(a) === normalCid(b);
  } catch {
    return false;
  }
}

/** True when `cid` parses as a CID. */
export function isCid(cid: string): boolean {
  try {
    CID.parse(cid.trim());
    return true;
  } catch {
    return false;
  }
}

/**
 * A service answered a CID that is not the one computed here for the same bytes: the
 * file it stored is not the one we sent, or it built the DAG differently. Retrying
 * does not help; the operator has to look.
 */
export class CidMismatchError extends Error {
  override readonly name = 'CidMismatchError';

  constructor(
    readonly service: string,
    readonly expected: string,
    readonly answered: string,
  ) {
    super(
      `${service} answered CID ${answered} but the bytes sent give ${expected}; ` +
        'refusing to record it. Check that the service builds CID v1 with raw leaves ' +
        'and 256 KiB chunks (its import settings), then retry the batch.',
    );
  }
}

/** True when `bytes` are the content `cid` names. */
export async function holdsCid(bytes: Uint8Array, cid: string): Promise<boolean> {
  return sameCid(await cidOf(bytes), cid);
}
