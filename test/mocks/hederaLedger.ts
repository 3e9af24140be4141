/**
 * What the mock Hedera network has agreed on: accounts and their keys, topics with
 * their messages (sequence numbers, consensus times, running hashes by HCS rules),
 * and the result of every transaction that reached consensus. The mock consensus
 * node writes it; the mock mirror node reads it.
 */
import type { PublicKey } from '@hiero-ledger/sdk';
import {
  type ConsensusTime,
  INITIAL_RUNNING_HASH,
  nextRunningHash,
  parseEntityId,
} from '../../src/anchor/runningHash.js';

export interface MockTopicMessage {
  topicId: string;
  sequenceNumber: bigint;
  consensusTime: ConsensusTime;
  runningHash: Buffer;
  message: Buffer;
  payer: string;
  transactionId: string;
}

export interface MockTransactionResult {
  transactionId: string;
  /** `CONSENSUSSUBMITMESSAGE` or `CONSENSUSCREATETOPIC`, as the mirror node names them. */
  name: string;
  result: 'SUCCESS';
  consensusTime: ConsensusTime;
  /** The topic written to or created. */
  entityId: string;
  message?: MockTopicMessage;
}

interface Topic {
  messages: MockTopicMessage[];
  runningHash: Buffer;
}

export class MockLedgerState {
  readonly accounts = new Map<string, PublicKey>();
  private readonly topics = new Map<string, Topic>();
  readonly transactions = new Map<string, MockTransactionResult>();
  private lastConsensusNs = 0n;
  private nextTopicNum = 5000;

  addAccount(accountId: string, key: PublicKey): void {
    this.accounts.set(accountId, key);
  }

  hasTopic(topicId: string): boolean {
    return this.topics.has(topicId);
  }

  createTopic(transactionId: string): MockTransactionResult {
    const topicId = `0.0.${this.nextTopicNum++}`;
    this.topics.set(topicId, { messages: [], runningHash: INITIAL_RUNNING_HASH });
    return this.record({
      transactionId,
      name: 'CONSENSUSCREATETOPIC',
      result: 'SUCCESS',
      consensusTime: this.nextConsensusTime(),
      entityId: topicId,
    });
  }

  /** Orders `message` on the topic; the topic must exist. */
  submit(topicId: string, payer: string, transactionId: string, message: Buffer) {
    const topic = this.topics.get(topicId);
    if (!topic) throw new Error(`no topic ${topicId}`);
    const consensusTime = this.nextConsensusTime();
    const sequenceNumber = BigInt(topic.messages.length + 1);
    const runningHash = nextRunningHash({
      previous: topic.runningHash,
      payer: parseEntityId(payer),
      topic: parseEntityId(topicId),
      consensusTime,
      sequenceNumber,
      message,
    });
    const ordered: MockTopicMessage = {
      topicId,
      sequenceNumber,
      consensusTime,
      runningHash,
      message,
      payer,
      transactionId,
    };
    topic.messages.push(ordered);
    topic.runningHash = runningHash;
    return this.record({
      transactionId,
      name: 'CONSENSUSSUBMITMESSAGE',
      result: 'SUCCESS',
      consensusTime,
      entityId: topicId,
      message: ordered,
    });
  }

  /** Every message ordered on `topicId`, first to last. */
  messages(topicId: string): readonly MockTopicMessage[] {
    return this.topics.get(topicId)?.messages ?? [];
  }

  messageAt(consensusTime: ConsensusTime): MockTopicMessage | undefined {
    for (const topic of this.topics.values()) {
      const hit = topic.messages.find(
        (m) =>
          m.consensusTime.seconds === consensusTime.seconds &&
          m.consensusTime.nanos === consensusTime.nanos,
      );
      if (hit) return hit;
    }
    return undefined;
  }

  private record(result: MockTransactionResult): MockTransactionResult {
    this.transactions.set(result.transactionId, result);
    return result;
  }

  /** Now, in nanoseconds, but always after the previous consensus time. */
  private nextConsensusTime(): ConsensusTime {
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    this.lastConsensusNs =
      nowNs > this.lastConsensusNs ? nowNs : this.lastConsensusNs + 1n;
    return {
      seconds: this.lastConsensusNs / 1_000_000_000n,
      nanos: Number(this.lastConsensusNs % 1_000_000_000n),
    };
  }
}
