import { importer } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import type { CID } from 'multiformats/cid';

/**
 * The CID a Kubo node gives a file with its long-standing defaults: 256 KiB chunks,
 * balanced layout of 174 links; version 1 means raw leaves, version 0 dag-pb leaves.
 */
export async function kuboCid(bytes: Uint8Array, version: 0 | 1): Promise<string> {
  let last = '';
  for await (const entry of importer(
    [{ content: bytes }],
    { put: (k: CID) => k },
    {
      cidVersion: version,
      rawLeaves: version === 1,
      reduceSingleLeafToSelf: true,
      chunker: fixedSize({ chunkSize: 262_144 }),
      layout: balanced({ maxChildrenPerNode: 174 }),
    },
  )) {
    last = entry.cid.toString();
  }
  return last;
}
