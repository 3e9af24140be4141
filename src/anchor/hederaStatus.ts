/**
 * What a Hedera status means for anchoring. `retry`: the network turned the
 * transaction away without ordering it (busy, not created, expired), so sending again
 * later is safe. `permanent`: sending again would fail the same way and may burn
 * fees (bad signature, unknown topic, no balance): anchoring stops and an operator
 * is alarmed. Any status not named here is treated as permanent, to be safe.
 */
import { LedgerError } from './backends.js';

const RETRY = new Set([
  'BUSY',
  'PLATFORM_TRANSACTION_NOT_CREATED',
  'PLATFORM_NOT_ACTIVE',
  'TRANSACTION_EXPIRED',
  'UNKNOWN',
  'INVALID_NODE_ACCOUNT',
]);

const ADVICE: Record<string, string> = {
  INVALID_SIGNATURE:
    'HEDERA_PRIVATE_KEY does not sign for HEDERA_ACCOUNT_ID or the topic',
  INVALID_TOPIC_ID: 'HEDERA_TOPIC_ID names no topic on this network',
  TOPIC_EXPIRED: 'the topic HEDERA_TOPIC_ID has expired; create a new one',
  INSUFFICIENT_PAYER_BALANCE: 'the account HEDERA_ACCOUNT_ID has too little HBAR',
  INSUFFICIENT_TX_FEE: 'the network wants a higher fee than the transaction offers',
  PAYER_ACCOUNT_NOT_FOUND: 'HEDERA_ACCOUNT_ID does not exist on this network',
  INVALID_ACCOUNT_ID: 'HEDERA_ACCOUNT_ID does not exist on this network',
};

/** `retry` or `permanent` for a precheck or receipt status such as `BUSY`. */
export function statusKind(status: string): 'retry' | 'permanent' {
  return RETRY.has(status) ? 'retry' : 'permanent';
}

/** A LedgerError for `status`, with advice for the operator on permanent ones. */
export function statusError(status: string, transactionId: string): LedgerError {
  const kind = statusKind(status);
  const advice = ADVICE[status];
  const what = `Hedera answered ${status} for transaction ${transactionId}`;
  if (kind === 'retry') {
    return new LedgerError(
      kind,
      status,
      `${what}; it was not ordered and is sent again later.`,
    );
  }
  return new LedgerError(
    kind,
    status,
    `${what}; anchoring stops until an operator acts${advice ? `: ${advice}` : ''}.`,
  );
}
