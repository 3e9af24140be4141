/**
 * Creates the HCS topic that anchors go to (`heru hedera create-topic`). Only the
 * operator's key may submit to it, so nobody else can put messages between ours; the
 * same key administers it, so the operator can renew or update it.
 */
import { TopicCreateTransaction } from '@hiero-ledger/sdk';
import type { Logger } from '../log.js';
import { checkAccountKey, hederaClient, operatorKey } from './hederaClient.js';
import type { HederaConfig } from './hederaConfig.js';
import { statusError } from './hederaStatus.js';

/** Creates a topic paid by HEDERA_ACCOUNT_ID and resolves to its id, `0.0.5678`. */
export async function createTopic(
  config: HederaConfig,
  log: Logger,
  memo = 'heru anchors',
): Promise<string> {
  const key = operatorKey(config);
  const client = hederaClient(config, key);
  try {
    await checkAccountKey(client, config, key);
    const response = await new TopicCreateTransaction()
      .setTopicMemo(memo)
      .setSubmitKey(key.publicKey)
      .setAdminKey(key.publicKey)
      .execute(client, config.submitTimeoutMs);
    const receipt = await response.getReceipt(client);
    if (!receipt.topicId) {
      throw statusError(receipt.status.toString(), response.transactionId.toString());
    }
    const topicId = receipt.topicId.toString();
    log.info({ topicId, accountId: config.accountId }, 'hedera topic created');
    return topicId;
  } finally {
    client.close();
  }
}
