/**
 * Where the network ordered a topic message: the receipt (free, kept by the nodes for
 * about 3 minutes) gives the topic's sequence number and running hash; the record
 * (a small paid query, kept as long) adds the consensus time. Older transactions
 * are read from the mirror node.
 */
import {
  type Client,
  MaxAttemptsOrTimeoutError,
  ReceiptStatusError,
  TransactionId,
  TransactionReceiptQuery,
  TransactionRecordQuery,
} from '@hiero-ledger/sdk';
import type { LedgerReceipt } from './backends.js';
import { LedgerError } from './backends.js';
import { statusError } from './hederaStatus.js';
import { formatConsensusTime } from './runningHash.js';

/** Receipt polls give up on attempts only after the deadline has passed. */
const RECEIPT_ATTEMPTS = 1_000;

/**
 * The receipt and consensus time of `transactionId`, waiting up to `timeoutMs` for it
 * to reach consensus. Throws LedgerError: `unconfirmed` when the deadline passes,
 * `retry`/`permanent` when the transaction reached consensus and failed.
 */
export async function receiptFromNetwork(
  client: Client,
  transactionId: string,
  topicId: string,
  timeoutMs: number,
): Promise<LedgerReceipt> {
  const id = TransactionId.fromString(transactionId);
  try {
    const receipt = await new TransactionReceiptQuery()
      .setTransactionId(id)
      .setMaxAttempts(RECEIPT_ATTEMPTS)
      .execute(client, timeoutMs);
    const record = await new TransactionRecordQuery()
      .setTransactionId(id)
      .execute(client, timeoutMs);
    const at = record.consensusTimestamp;
    return {
      transactionId,
      topicId,
      sequenceNumber: Number(receipt.topicSequenceNumber ?? 0),
      consensusTime: formatConsensusTime({
        seconds: BigInt(at.seconds.toString()),
        nanos: Number(at.nanos.toString()),
      }),
      runningHash: Buffer.from(receipt.topicRunningHash ?? []).toString('hex'),
    };
  } catch (err) {
    if (err instanceof ReceiptStatusError) {
      throw statusError(err.status.toString(), transactionId);
    }
    throw new LedgerError(
      'unconfirmed',
      err instanceof MaxAttemptsOrTimeoutError ? 'RECEIPT_TIMEOUT' : 'RECEIPT_UNREADABLE',
      `no receipt for ${transactionId} within ${timeoutMs} ms (${(err as Error).message}); ` +
        'it may still reach consensus: look it up later, do not send a new transaction.',
    );
  }
}
