import type { BatchResult } from '../db/ingestBatch.js';
import type { Metrics } from '../metrics.js';
import type { DecodedMessage } from './decoder.js';

/**
 * Counts one committed batch in the metrics: its size and commit time, what became
 * of its messages and readings, and how long its oldest message waited.
 * Counters are added to once a batch, not once a message.
 */
export function recordCommit(
  m: Metrics,
  batch: readonly DecodedMessage[],
  result: BatchResult,
  seconds: number,
): void {
  m.batchCommitSeconds.observe(seconds);
  m.batchSize.observe(batch.length);
  m.readingsStored.inc(result.readingsStored);
  m.readingsDuplicate.inc(result.readingsDuplicate);
  let stored = 0;
  let duplicate = 0;
  result.outcomes.forEach((o, i) => {
    if (o === 'stored') stored += 1;
    else if (o === 'duplicate') duplicate += 1;
    else if (o === 'quarantined')
      m.messagesQuarantined.inc({ reason: batch[i]!.quarantine!.reason });
  });
  m.messagesStored.inc(stored);
  m.messagesDuplicate.inc(duplicate);
  for (const r of result.stored)
    for (const f of r.flags) m.readingsFlagged.inc({ flag: f });
  // The batch is in receive order: its first message waited longest.
  const oldest = batch[0]!.message.receivedAt.getTime();
  m.ingestLagSeconds.set((Date.now() - oldest) / 1000);
}
