/**
 * A whole mock Hedera network for a test: one consensus node (gRPC) and one mirror
 * node (REST) over shared state, an operator account with a fresh key, and a topic.
 */
import { PrivateKey } from '@hiero-ledger/sdk';
import { MockLedgerState } from './hederaLedger.js';
import { HederaNodeMock, NODE_ACCOUNT_ID } from './hederaNode.js';
import { MirrorNodeMock } from './mirrorNode.js';

export const OPERATOR_ID = '0.0.1001';

export interface MockHederaNetwork {
  ledger: MockLedgerState;
  node: HederaNodeMock;
  mirror: MirrorNodeMock;
  operatorKey: PrivateKey;
  topicId: string;
  /** The environment that points the Hedera backend at this network. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startMockHedera(keyType: 'ed25519' | 'ecdsa' = 'ed25519') {
  const ledger = new MockLedgerState();
  const operatorKey =
    keyType === 'ed25519' ? PrivateKey.generateED25519() : PrivateKey.generateECDSA();
  ledger.addAccount(OPERATOR_ID, operatorKey.publicKey);
  const topicId = ledger.createTopic(`${OPERATOR_ID}@1.000000000`).entityId;
  const node = await HederaNodeMock.start(ledger);
  const mirror = await MirrorNodeMock.start(ledger);
  const network: MockHederaNetwork = {
    ledger,
    node,
    mirror,
    operatorKey,
    topicId,
    env: {
      HEDERA_NETWORK: `${node.address}=${NODE_ACCOUNT_ID}`,
      HEDERA_ACCOUNT_ID: OPERATOR_ID,
      HEDERA_PRIVATE_KEY: `${keyType}:${operatorKey.toStringRaw()}`,
      HEDERA_TOPIC_ID: topicId,
      HEDERA_MIRROR_URL: mirror.url.href,
    },
    async close() {
      await Promise.all([node.close(), mirror.close()]);
    },
  };
  return network;
}
