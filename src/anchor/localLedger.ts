/**
 * A local ledger in PostgreSQL, used when no Hedera account is configured: an
 * append-only message log per topic that behaves like the Hedera Consensus Service
 * as far as anchoring can tell. Messages get sequence numbers from 1, strictly
 * increasing nanosecond consensus times, and a version-3 running hash that chains
 * each message to the one before (see runningHash.ts). A transaction id is accepted
 * once: sending the same transaction again answers with the first receipt, as a
 * duplicate transaction does on Hedera.
 *
 * It proves nothing to anyone who does not trust this database; it is there so the
 * whole flow, and `heru verify`, run offline.
 */
import { randomInt } from 'node:crypto';
import { transaction, type Pool, type PoolClient } from '../db/pool.js';
import type { HealthEntry } from '../health.js';
import {
  LedgerError,
  type LedgerBackend,
  type LedgerMessage,
  type LedgerReceipt,
  type LedgerSubmission,
} from './backends.js';
import { canonicalBytes } from './canonical.js';
import {
  RUNNING_HASH_VERSION,
  formatConsensusTime,
  nextRunningHash,
  parseEntityId,
} from './runningHash.js';

/** Topic of the local ledger unless another is given. */
export const LOCAL_TOPIC_ID = '0.0.1000';
/** The account the local ledger says paid for each message. */
export const LOCAL_PAYER_ID = '0.0.2';

interface MessageRow {
  topic_id: string;
  sequence_number: string;
  consensus_time: string;
  transaction_id: string;
  running_hash: Buffer;
  message: Buffer;
}

export class LocalLedger implements LedgerBackend {
  readonly name = 'local';

  constructor(
    private readonly pool: Pool,
    readonly topicId: string = LOCAL_TOPIC_ID,
    private readonly payerId: string = LOCAL_PAYER_ID,
  ) {
    parseEntityId(topicId);
    parseEntityId(payerId);
  }

  prepare(message: Uint8Array): Promise<LedgerSubmission> {
    const validStart = `${Math.floor(Date.now() / 1000)}.${String(randomInt(1e9)).padStart(9, '0')}`;
    const transactionId = `${this.payerId}@${validStart}`;
    const bytes = canonicalBytes({
      transaction_id: transactionId,
      topic_id: this.topicId,
      message: Buffer.from(message).toString('base64'),
    });
    return Promise.resolve({ transactionId, bytes });
  }

  async submit(submission: LedgerSubmission): Promise<LedgerReceipt> {
    const tx = parseTransaction(submission);
    return transaction(this.pool, async (c) => {
      await c.query(
        'insert into local_ledger_topic (topic_id) values ($1) on conflict do nothing',
        [tx.topicId],
      );
      // The topic row is the lock that orders messages: one append at a time.
      const { rows } = await c.query<{ seq: string; hash: Buffer; last: string }>(
        `select sequence_number::text as seq, running_hash as hash, last_consensus_ns::text as last
         from local_ledger_topic where topic_id = $1 for update`,
        [tx.topicId],
      );
      const earlier = await findByTransaction(c, tx.transactionId);
      if (earlier) return receiptOf(earlier);
      return this.append(c, tx, rows[0]!);
    });
  }

  async lookup(transactionId: string): Promise<LedgerReceipt | undefined> {
    const row = await findByTransaction(this.pool, transactionId);
    return row ? receiptOf(row) : undefined;
  }

  async readMessage(
    topicId: string,
    sequenceNumber: number,
  ): Promise<LedgerMessage | undefined> {
    const { rows } = await this.pool.query<MessageRow>(
      `select ${MESSAGE_COLUMNS} from local_ledger_message
       where topic_id = $1 and sequence_number = $2`,
      [topicId, sequenceNumber],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      topicId: row.topic_id,
      sequenceNumber: Number(row.sequence_number),
      consensusTime: row.consensus_time,
      runningHash: row.running_hash.toString('hex'),
      message: row.message,
    };
  }

  async health(): Promise<HealthEntry> {
    await this.pool.query('select 1 from local_ledger_topic limit 1');
    return { status: 'ok', backend: 'local', topic: this.topicId };
  }

  private async append(
    c: PoolClient,
    tx: { transactionId: string; topicId: string; message: Buffer },
    topic: { seq: string; hash: Buffer; last: string },
  ): Promise<LedgerReceipt> {
    const sequenceNumber = BigInt(topic.seq) + 1n;
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const last = BigInt(topic.last);
    const ns = nowNs > last ? nowNs : last + 1n;
    const consensusTime = {
      seconds: ns / 1_000_000_000n,
      nanos: Number(ns % 1_000_000_000n),
    };
    const runningHash = nextRunningHash({
      previous: topic.hash,
      payer: parseEntityId(this.payerId),
      topic: parseEntityId(tx.topicId),
      consensusTime,
      sequenceNumber,
      message: tx.message,
    });
    const row: MessageRow = {
      topic_id: tx.topicId,
      sequence_number: sequenceNumber.toString(),
      consensus_time: formatConsensusTime(consensusTime),
      transaction_id: tx.transactionId,
      running_hash: runningHash,
      message: tx.message,
    };
    await c.query(
      `insert into local_ledger_message (topic_id, sequence_number, consensus_time,
         transaction_id, payer_account_id, message, running_hash, running_hash_version)
       values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        row.topic_id,
        row.sequence_number,
        row.consensus_time,
        row.transaction_id,
        this.payerId,
        row.message,
        row.running_hash,
        RUNNING_HASH_VERSION,
      ],
    );
    await c.query(
      `update local_ledger_topic
       set sequence_number = $2, running_hash = $3, last_consensus_ns = $4
       where topic_id = $1`,
      [tx.topicId, row.sequence_number, runningHash, ns.toString()],
    );
    return receiptOf(row);
  }
}

const MESSAGE_COLUMNS = `topic_id, sequence_number::text as sequence_number, consensus_time,
  transaction_id, running_hash, message`;

async function findByTransaction(
  db: Pool | PoolClient,
  transactionId: string,
): Promise<MessageRow | undefined> {
  const { rows } = await db.query<MessageRow>(
    `select ${MESSAGE_COLUMNS} from local_ledger_message where transaction_id = $1`,
    [transactionId],
  );
  return rows[0];
}

function receiptOf(row: MessageRow): LedgerReceipt {
  return {
    transactionId: row.transaction_id,
    topicId: row.topic_id,
    sequenceNumber: Number(row.sequence_number),
    consensusTime: row.consensus_time,
    runningHash: row.running_hash.toString('hex'),
  };
}

function parseTransaction(s: LedgerSubmission): {
  transactionId: string;
  topicId: string;
  message: Buffer;
} {
  let doc: { transaction_id?: unknown; topic_id?: unknown; message?: unknown };
  try {
    doc = JSON.parse(Buffer.from(s.bytes).toString('utf8')) as typeof doc;
  } catch {
    throw new LedgerError(
      'permanent',
      'INVALID_TRANSACTION_BODY',
      'the local ledger cannot read the stored transaction bytes',
    );
  }
  if (
    doc.transaction_id !== s.transactionId ||
    typeof doc.topic_id !== 'string' ||
    typeof doc.message !== 'string'
  ) {
    throw new LedgerError(
      'permanent',
      'INVALID_TRANSACTION_BODY',
      `the stored transaction does not carry transaction id ${s.transactionId} and a message`,
    );
  }
  return {
    transactionId: s.transactionId,
    topicId: doc.topic_id,
    message: Buffer.from(doc.message, 'base64'),
  };
}
