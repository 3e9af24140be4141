/**
 * The REST API of a Hedera mirror node (`HEDERA_MIRROR_URL`): topic messages by
 * sequence number or consensus time, and transactions by id. It is how `heru verify`
 * reads a ledger message without trusting this server, and how a transaction whose
 * receipt the network no longer keeps (after 3 minutes) is confirmed.
 */
import type { HealthEntry } from '../health.js';
import type { LedgerMessage, LedgerReceipt } from './backends.js';
import { LedgerError } from './backends.js';
import { HttpCallError, httpCall, jsonOf } from './httpCall.js';
import { formatConsensusTime, parseConsensusTime } from './runningHash.js';

interface MirrorMessage {
  consensus_timestamp: string;
  message: string;
  running_hash: string;
  sequence_number: number;
  topic_id: string;
}

interface MirrorTransaction {
  consensus_timestamp: string;
  entity_id: string | null;
  name: string;
  result: string;
}

export class MirrorNode {
  private readonly base: URL;

  /** `timeoutMs`: milliseconds one request may take. */
  constructor(
    baseUrl: URL,
    private readonly timeoutMs: number,
  ) {
    this.base = baseUrl.pathname.endsWith('/') ? baseUrl : new URL(`${baseUrl.href}/`);
  }

  /** Message `sequenceNumber` of `topicId`, or undefined when the mirror has none (yet). */
  async message(
    topicId: string,
    sequenceNumber: number,
  ): Promise<LedgerMessage | undefined> {
    const body = await this.get(`api/v1/topics/${topicId}/messages/${sequenceNumber}`);
    return body === undefined ? undefined : toLedgerMessage(body as MirrorMessage);
  }

  /** The topic message that reached consensus at `timestamp` (`seconds.nanos`). */
  async messageAt(timestamp: string): Promise<LedgerMessage | undefined> {
    const body = await this.get(`api/v1/topics/messages/${timestamp}`);
    return body === undefined ? undefined : toLedgerMessage(body as MirrorMessage);
  }

  /**
   * Where the topic message sent by `transactionId` (`0.0.1001@1700000000.000000001`)
   * was ordered, or undefined when the mirror knows no such transaction. A transaction
   * that reached consensus and failed throws LedgerError `permanent`.
   */
  async receiptOf(transactionId: string): Promise<LedgerReceipt | undefined> {
    const body = await this.get(
      `api/v1/transactions/${mirrorTransactionId(transactionId)}`,
    );
    const list = (body as { transactions?: MirrorTransaction[] } | undefined)
      ?.transactions;
    if (!list || list.length === 0) return undefined;
    // Duplicates that reached consensus are listed too, with result DUPLICATE_TRANSACTION.
    const success = list.find((t) => t.result === 'SUCCESS');
    if (!success) {
      const first = list[0]!;
      throw new LedgerError(
        'permanent',
        first.result,
        `transaction ${transactionId} reached consensus and failed with ${first.result}`,
      );
    }
    const message = await this.messageAt(success.consensus_timestamp);
    if (!message) return undefined;
    return {
      transactionId,
      topicId: message.topicId,
      sequenceNumber: message.sequenceNumber,
      consensusTime: message.consensusTime,
      runningHash: message.runningHash,
    };
  }

  async health(): Promise<HealthEntry> {
    try {
      await this.get('api/v1/network/supply', 1_500);
      return { status: 'ok', mirror: this.base.origin };
    } catch (err) {
      return { status: 'failing', detail: (err as Error).message };
    }
  }

  /** The JSON body, or undefined for 404. */
  private async get(path: string, timeoutMs = this.timeoutMs): Promise<unknown> {
    try {
      const answer = await httpCall({
        method: 'GET',
        url: new URL(path, this.base),
        timeoutMs,
        what: 'the mirror node',
      });
      return jsonOf(answer, 'the mirror node');
    } catch (err) {
      if (err instanceof HttpCallError && err.status === 404) return undefined;
      throw err;
    }
  }
}

/** `0.0.1001@1700000000.000000001` → `0.0.1001-1700000000-000000001`, the mirror's form. */
export function mirrorTransactionId(transactionId: string): string {
  const m = /^(\d+\.\d+\.\d+)@(\d+)\.(\d+)$/.exec(transactionId);
  if (!m) throw new Error(`${JSON.stringify(transactionId)} is not a transaction id`);
  return `${m[1]!}-${m[2]!}-${m[3]!.padStart(9, '0')}`;
}

function toLedgerMessage(m: MirrorMessage): LedgerMessage {
  return {
    topicId: m.topic_id,
    sequenceNumber: m.sequence_number,
    consensusTime: formatConsensusTime(parseConsensusTime(m.consensus_timestamp)),
    runningHash: Buffer.from(m.running_hash, 'base64').toString('hex'),
    message: new Uint8Array(Buffer.from(m.message, 'base64')),
  };
}
