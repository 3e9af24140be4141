/**
 * The ledger message of a batch: scheme, batch id, root, reading count and manifest
 * CID as RFC 8785 JSON, about 200 bytes, well under the 1,024 bytes one HCS message
 * (one fee) can carry.
 */
import { canonicalBytes } from './canonical.js';
import { ANCHOR_SCHEME } from './scheme.js';

/** Largest message one HCS transaction carries without chunking, in bytes. */
export const LEDGER_MESSAGE_MAX_BYTES = 1024;

export interface LedgerAnchor {
  scheme: string;
  batchId: string;
  root: Buffer;
  count: number;
  cid: string;
}

/** The message's bytes; throws if they would not fit in one ledger message. */
export function ledgerMessageBytes(a: Omit<LedgerAnchor, 'scheme'>): Buffer {
  const bytes = canonicalBytes({
    scheme: ANCHOR_SCHEME,
    batch: a.batchId,
    root: a.root.toString('hex'),
    count: a.count,
    cid: a.cid,
  });
  if (bytes.length >= LEDGER_MESSAGE_MAX_BYTES) {
    throw new Error(
      `the ledger message of batch ${a.batchId} is ${bytes.length} bytes; at most ` +
        `${LEDGER_MESSAGE_MAX_BYTES - 1} fit in one message`,
    );
  }
  return bytes;
}

/** Reads a ledger message back; throws with the reason when it is not one of ours. */
export function parseLedgerMessage(bytes: Uint8Array): LedgerAnchor {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new Error('the ledger message is not JSON');
  }
  const { scheme, batch, root, count, cid } = doc;
  if (typeof scheme !== 'string' || !scheme.startsWith('heru-anchor/')) {
    throw new Error('the ledger message is not an anchor of this server');
  }
  if (
    typeof batch !== 'string' ||
    typeof root !== 'string' ||
    !/^[0-9a-f]{64}$/.test(root) ||
    typeof count !== 'number' ||
    !Number.isInteger(count) ||
    typeof cid !== 'string'
  ) {
    throw new Error('the ledger message lacks a batch, root, count or CID');
  }
  return { scheme, batchId: batch, root: Buffer.from(root, 'hex'), count, cid };
}
