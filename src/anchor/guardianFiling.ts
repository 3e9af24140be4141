/**
 * Filing an anchored batch with a Guardian policy block, when Guardian is configured:
 * the last step of a batch, after its receipt is recorded. A failure that may pass is
 * retried like every other step; a refusal that will not pass (bad credentials) marks
 * the filing failed, for an operator to fix and retry (`heru worker --retry-failed`).
 */
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import { advance, type BatchRow } from './batches.js';
import { GuardianError, type GuardianClient } from './guardian.js';

export async function fileWithGuardian(
  d: { pool: Pool; owner: string; guardian?: GuardianClient | undefined },
  b: BatchRow,
  log: Logger,
): Promise<BatchRow> {
  if (!d.guardian) {
    return advance(d.pool, b.id, d.owner, ['anchored'], {
      guardian_state: 'failed',
      last_error:
        'Guardian is no longer configured; set it up again and run heru worker --retry-failed',
    });
  }
  try {
    await d.guardian.send({
      batchId: b.id,
      scheme: b.scheme,
      cid: b.manifest_cid!,
      merkleRoot: b.root.toString('hex'),
      readingCount: b.reading_count,
      hcsTopicId: b.topic_id!,
      hcsSequenceNumber: Number(b.sequence_number),
      hcsConsensusTime: b.consensus_time!,
      hcsTransactionId: b.transaction_id!,
    });
  } catch (err) {
    if (!(err instanceof GuardianError) || err.retryable) throw err;
    log.error({ alarm: 'operator', err: err.message }, 'Guardian refused the batch');
    return advance(d.pool, b.id, d.owner, ['anchored'], {
      guardian_state: 'failed',
      last_error: err.message,
    });
  }
  return advance(d.pool, b.id, d.owner, ['anchored'], {
    guardian_state: 'filed',
    guardian_filed_at: 'now',
  });
}
