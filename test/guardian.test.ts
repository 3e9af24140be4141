import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type GuardianAnchorDocument,
  GuardianClient,
  GuardianError,
} from '../src/anchor/guardian.js';
import { readGuardianConfig } from '../src/anchor/guardianConfig.js';
import { createLogger } from '../src/log.js';
import { GuardianMock } from './mocks/guardian.js';

const log = createLogger('silent');
const account = {
  username: 'heru',
  password: 'pw-1',
  policyId: 'p123',
  blockTag: 'anchor_in',
};
let mock: GuardianMock;

function guardian(extra: Record<string, string> = {}): GuardianClient {
  const config = readGuardianConfig({
    GUARDIAN_API_URL: mock.apiUrl.href,
    GUARDIAN_USERNAME: account.username,
    GUARDIAN_PASSWORD: account.password,
    GUARDIAN_POLICY_ID: account.policyId,
    GUARDIAN_BLOCK_TAG: account.blockTag,
    ...extra,
  });
  return new GuardianClient(config!, log);
}

const doc = (batchId: string): GuardianAnchorDocument => ({
  batchId,
  scheme: 'heru-anchor/1',
  cid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku',
  merkleRoot: 'ab'.repeat(32),
  readingCount: 1000,
  hcsTopicId: '0.0.5000',
  hcsSequenceNumber: 7,
  hcsConsensusTime: '2026-01-01T00:00:00.123456789Z',
  hcsTransactionId: '0.0.1001@1767225600.000000001',
});

beforeEach(async () => {
  mock = await GuardianMock.start(account);
});
afterEach(async () => {
  await mock.close();
});

describe('Guardian client', () => {
  it('logs in, then sends the anchor document to the policy block', async () => {
    await guardian().send(doc('b1'));
    expect(mock.logins).toBe(1);
    expect(mock.documents).toEqual([doc('b1')]);
  });

  it('logs in once for many documents', async () => {
    const client = guardian();
    await client.send(doc('b1'));
    await client.send(doc('b2'));
    expect(mock.logins).toBe(1);
    expect(mock.documents).toHaveLength(2);
  });

  it('retries a failing block until it takes the document', async () => {
    mock.failNext(500, 503);
    await guardian().send(doc('b3'));
    expect(mock.blockRequests).toBe(3);
    expect(mock.documents).toEqual([doc('b3')]);
  });

  it('logs in again when its token has expired', async () => {
    const client = guardian();
    await client.send(doc('b4'));
    mock.expireTokens();
    await client.send(doc('b5'));
    expect(mock.logins).toBe(2);
    expect(mock.documents).toHaveLength(2);
  });

  it('gives up as retryable once its attempts are spent', async () => {
    mock.failNext(500, 500, 500);
    const err = await guardian()
      .send(doc('b6'))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuardianError);
    expect((err as GuardianError).retryable).toBe(true);
    expect(mock.documents).toHaveLength(0);
  });

  it('gives up at once, not retryable, when the login is refused', async () => {
    const err = await guardian({ GUARDIAN_PASSWORD: 'wrong' })
      .send(doc('b7'))
      .catch((e: unknown) => e);
    expect((err as GuardianError).retryable).toBe(false);
    expect((err as Error).message).toMatch(/GUARDIAN_PASSWORD/);
    expect(mock.logins).toBe(1);
  });
});
