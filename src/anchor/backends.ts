import type { HealthEntry } from '../health.js';

/**
 * Content-addressed storage for batch manifests: Pinata, a self-hosted IPFS node, or
 * a local store on disk. All three give the same CID for the same bytes.
 */
export interface IpfsBackend {
  /** `pinata`, `ipfs-node` or `local`. */
  readonly name: string;
  /**
   * Stores and pins `bytes` under a human-readable `name`; resolves to the CID (v1,
   * base32), which must equal the CID computed locally for the same bytes.
   */
  pin(bytes: Uint8Array, name: string): Promise<string>;
  /** True when `cid` is already pinned (asked after a timeout, before pinning again). */
  isPinned(cid: string): Promise<boolean>;
  /** The bytes behind `cid`, for `heru verify`. */
  fetch(cid: string): Promise<Uint8Array>;
  health(): Promise<HealthEntry>;
}

/** A ledger message transaction, frozen and signed, stored before it is sent. */
export interface LedgerSubmission {
  transactionId: string;
  /** The signed transaction bytes; a retry sends exactly these. */
  bytes: Uint8Array;
}

/** Where and when the ledger ordered a message. */
export interface LedgerReceipt {
  transactionId: string;
  topicId: string;
  sequenceNumber: number;
  /** ISO 8601 with nanoseconds when the ledger gives them, e.g. `2026-01-01T00:00:00.123456789Z`. */
  consensusTime: string;
  /** Hex running hash of the topic after this message. */
  runningHash: string;
}

/** One message as read back from the ledger (mirror node or local log). */
export interface LedgerMessage {
  topicId: string;
  sequenceNumber: number;
  consensusTime: string;
  runningHash: string;
  message: Uint8Array;
}

/**
 * Why a ledger call failed: `retry` (BUSY, not created, expired before submission:
 * prepare again or resend later), `unconfirmed` (sent, no receipt before the deadline:
 * look it up later, never resend a new transaction), `permanent` (bad signature,
 * bad topic: stop anchoring and raise an operator alarm).
 */
export class LedgerError extends Error {
  override readonly name = 'LedgerError';

  constructor(
    readonly kind: 'retry' | 'unconfirmed' | 'permanent',
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An ordered, timestamped message log: the Hedera Consensus Service, or a local
 * hash-chained log that follows its running-hash rules.
 */
export interface LedgerBackend {
  /** `hedera` or `local`. */
  readonly name: string;
  readonly topicId: string;
  /** Builds and signs the transaction for `message` without sending it. */
  prepare(message: Uint8Array): Promise<LedgerSubmission>;
  /**
   * Sends the stored signed bytes and waits for the receipt. A duplicate-transaction
   * answer means it was already accepted: the receipt is looked up and returned.
   * Throws LedgerError.
   */
  submit(submission: LedgerSubmission): Promise<LedgerReceipt>;
  /** The receipt of a transaction sent earlier, or undefined when the ledger has none. */
  lookup(transactionId: string): Promise<LedgerReceipt | undefined>;
  /** A message of a topic by its sequence number, for `heru verify`. */
  readMessage(
    topicId: string,
    sequenceNumber: number,
  ): Promise<LedgerMessage | undefined>;
  health(): Promise<HealthEntry>;
}
