/**
 * The Hedera Consensus Service as the ledger, through the official SDK.
 *
 * Exactly once: `prepare` freezes and signs a TopicMessageSubmitTransaction and hands
 * back its id and bytes, which the caller stores before anything is sent. `submit`
 * sends exactly those bytes (Transaction.fromBytes) and waits for the receipt; sent
 * again, the network answers DUPLICATE_TRANSACTION, which here means "already
 * ordered": the receipt (or, once the network has dropped it, the mirror node) says
 * where. An expired transaction is looked up the same way before the caller is told
 * to prepare a new one, so a message is never ordered twice.
 */
import {
  type Client,
  MaxAttemptsOrTimeoutError,
  PrecheckStatusError,
  type PrivateKey,
  TopicMessageSubmitTransaction,
  Transaction,
} from '@hiero-ledger/sdk';
import type { HealthEntry } from '../health.js';
import type { Logger } from '../log.js';
import { ConfigError } from '../config/ConfigError.js';
import {
  LedgerError,
  type LedgerBackend,
  type LedgerMessage,
  type LedgerReceipt,
  type LedgerSubmission,
} from './backends.js';
import { checkAccountKey, hederaClient, operatorKey } from './hederaClient.js';
import type { HederaConfig } from './hederaConfig.js';
import { receiptFromNetwork } from './hederaReceipts.js';
import { statusError, statusKind } from './hederaStatus.js';
import { MirrorNode } from './mirror.js';

/** Seconds a prepared transaction stays valid: the network's longest, 180, less a margin. */
const VALID_SECONDS = 170;

export class HederaLedger implements LedgerBackend {
  readonly name = 'hedera';

  private constructor(
    readonly topicId: string,
    private readonly client: Client,
    private readonly key: PrivateKey,
    private readonly mirror: MirrorNode,
    private readonly config: HederaConfig,
    private readonly log: Logger,
  ) {}

  /**
   * Connects and checks, before any batch, that HEDERA_PRIVATE_KEY signs for
   * HEDERA_ACCOUNT_ID; throws ConfigError (or a plain Error when the network cannot be
   * asked) with what to fix.
   */
  static async start(config: HederaConfig, log: Logger): Promise<HederaLedger> {
    if (!config.topicId) {
      throw new ConfigError(
        'HEDERA_TOPIC_ID',
        'a topic id such as 0.0.5678; create one with `node bin/heru.js hedera create-topic`',
      );
    }
    const key = operatorKey(config);
    const client = hederaClient(config, key);
    try {
      await checkAccountKey(client, config, key);
    } catch (err) {
      client.close();
      throw err;
    }
    const mirror = new MirrorNode(config.mirrorUrl, config.lookupTimeoutMs);
    const child = log.child({ ledger: 'hedera', topicId: config.topicId });
    child.info({ accountId: config.accountId }, 'hedera ledger ready');
    return new HederaLedger(config.topicId, client, key, mirror, config, child);
  }

  async prepare(message: Uint8Array): Promise<LedgerSubmission> {
    const tx = new TopicMessageSubmitTransaction()
      .setTopicId(this.topicId)
      .setMessage(message)
      .setTransactionValidDuration(VALID_SECONDS)
      // A resend must carry the same id, or duplicate detection cannot work.
      .setRegenerateTransactionId(false)
      .freezeWith(this.client);
    await tx.sign(this.key);
    const transactionId = tx.transactionId?.toString();
    if (!transactionId) throw new Error('the SDK froze a transaction without an id');
    return { transactionId, bytes: tx.toBytes() };
  }

  async submit(submission: LedgerSubmission): Promise<LedgerReceipt> {
    const tx = Transaction.fromBytes(submission.bytes);
    if (tx.transactionId?.toString() !== submission.transactionId) {
      throw new LedgerError(
        'permanent',
        'BYTES_MISMATCH',
        `the stored bytes carry transaction ${String(tx.transactionId)}, not ${submission.transactionId}`,
      );
    }
    try {
      await tx.execute(this.client, this.config.submitTimeoutMs);
    } catch (err) {
      return this.afterRefusal(err, submission.transactionId);
    }
    return receiptFromNetwork(
      this.client,
      submission.transactionId,
      this.topicId,
      this.config.receiptTimeoutMs,
    );
  }

  async lookup(transactionId: string): Promise<LedgerReceipt | undefined> {
    try {
      return await receiptFromNetwork(
        this.client,
        transactionId,
        this.topicId,
        this.config.lookupTimeoutMs,
      );
    } catch (err) {
      if (!(err instanceof LedgerError) || err.kind !== 'unconfirmed') throw err;
    }
    // The nodes keep receipts for about 3 minutes; the mirror keeps everything.
    return this.mirror.receiptOf(transactionId);
  }

  readMessage(
    topicId: string,
    sequenceNumber: number,
  ): Promise<LedgerMessage | undefined> {
    return this.mirror.message(topicId, sequenceNumber);
  }

  async health(): Promise<HealthEntry> {
    const mirror = await this.mirror.health();
    return { ...mirror, backend: 'hedera', topicId: this.topicId };
  }

  close(): void {
    this.client.close();
  }

  /** What a refused or unanswered send means; may still find the message ordered. */
  private async afterRefusal(
    err: unknown,
    transactionId: string,
  ): Promise<LedgerReceipt> {
    const status = refusalStatus(err);
    this.log.warn({ transactionId, status }, 'hedera submit refused or unanswered');
    if (status === 'DUPLICATE_TRANSACTION' || status === 'TRANSACTION_EXPIRED') {
      const found = await this.lookup(transactionId);
      if (found) return found;
      if (status === 'DUPLICATE_TRANSACTION') {
        throw new LedgerError(
          'unconfirmed',
          status,
          `the network already has transaction ${transactionId} but no receipt yet; look it up later`,
        );
      }
    }
    if (status === undefined) {
      throw new LedgerError(
        'unconfirmed',
        'NO_ANSWER',
        `sending ${transactionId} got no clear answer (${(err as Error).message}); ` +
          'it may have arrived: look it up, then resend the same bytes',
      );
    }
    throw statusError(status, transactionId);
  }
}

/**
 * The status a node refused with, or undefined when it is unknown whether the
 * transaction arrived (a timeout, a broken connection).
 */
function refusalStatus(err: unknown): string | undefined {
  if (err instanceof PrecheckStatusError) return err.status.toString();
  if (err instanceof MaxAttemptsOrTimeoutError) {
    // "… last error being: BUSY": every attempt was turned away with that status.
    const last = /last error being: ([A-Z_]+)\s*$/.exec(err.message)?.[1];
    return last !== undefined && statusKind(last) === 'retry' ? last : undefined;
  }
  return undefined;
}
