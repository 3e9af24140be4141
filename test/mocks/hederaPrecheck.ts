/**
 * The checks a Hedera node runs on a transaction before it is passed to consensus:
 * it decodes, names this node, is inside its valid window, and carries a valid
 * signature of the payer's key over the body bytes. Answers the precheck code of
 * the first failure, or the decoded transaction.
 */
import { proto } from '@hiero-ledger/proto';
import type { MockLedgerState } from './hederaLedger.js';
import { transactionIdOf } from './hederaNode.js';

type Code = keyof typeof proto.ResponseCodeEnum;

export interface CheckedTransaction {
  body: proto.TransactionBody;
  transactionId: string;
  payer: string;
}

/** `shard.realm.num` of an id message whose number field is `numField`. */
export function idOf(message: object | null | undefined, numField: string): string {
  if (!message) return '';
  const id = message as Record<string, unknown>;
  return `${text(id.shardNum)}.${text(id.realmNum)}.${text(id[numField])}`;
}

/** A protobuf number (number or Long) as decimal text; absent is 0. */
function text(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return value.toString();
  if (value && typeof value === 'object')
    return (value as { toString(): string }).toString();
  return '0';
}

export function checkTransaction(
  bytes: Buffer,
  nodeAccountId: string,
  ledger: MockLedgerState,
): CheckedTransaction | Code {
  let signed: proto.SignedTransaction;
  let body: proto.TransactionBody;
  try {
    const tx = proto.Transaction.decode(bytes);
    signed = proto.SignedTransaction.decode(tx.signedTransactionBytes);
    body = proto.TransactionBody.decode(signed.bodyBytes);
  } catch {
    return 'INVALID_TRANSACTION';
  }
  if (!body.transactionID) return 'INVALID_TRANSACTION_ID';
  if (idOf(body.nodeAccountID, 'accountNum') !== nodeAccountId)
    return 'INVALID_NODE_ACCOUNT';
  const window = validWindow(body);
  if (window !== 'OK') return window;
  const payer = idOf(body.transactionID.accountID, 'accountNum');
  const key = ledger.accounts.get(payer);
  if (!key) return 'PAYER_ACCOUNT_NOT_FOUND';
  const raw = key.toBytesRaw();
  const signature = (signed.sigMap?.sigPair ?? []).find((pair) => {
    const prefix = pair.pubKeyPrefix ?? new Uint8Array();
    return Buffer.from(raw.subarray(0, prefix.length)).equals(Buffer.from(prefix));
  });
  const sig = signature?.ed25519 ?? signature?.ECDSASecp256k1;
  if (!sig || sig.length === 0 || !key.verify(signed.bodyBytes, sig))
    return 'INVALID_SIGNATURE';
  return { body, transactionId: transactionIdOf(body.transactionID), payer };
}

/** TRANSACTION_EXPIRED once valid start + valid duration has passed. */
function validWindow(body: proto.TransactionBody): Code {
  const start = body.transactionID?.transactionValidStart;
  const startMs = Number(start?.seconds ?? 0) * 1000 + (start?.nanos ?? 0) / 1e6;
  const durationMs = Number(body.transactionValidDuration?.seconds ?? 0) * 1000;
  const now = Date.now();
  if (startMs > now + 10_000) return 'INVALID_TRANSACTION_START';
  if (now > startMs + durationMs) return 'TRANSACTION_EXPIRED';
  return 'OK';
}
