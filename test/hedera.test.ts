import { proto } from '@hiero-ledger/proto';
import { PrivateKey } from '@hiero-ledger/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LedgerError } from '../src/anchor/backends.js';
import { HederaLedger } from '../src/anchor/hedera.js';
import { readHederaConfig } from '../src/anchor/hederaConfig.js';
import { createLogger } from '../src/log.js';
import { type MockHederaNetwork, startMockHedera } from './mocks/hederaNetwork.js';

const log = createLogger('silent');
let net: MockHederaNetwork;
const ledgers: HederaLedger[] = [];

async function ledger(extra: Record<string, string> = {}): Promise<HederaLedger> {
  const config = readHederaConfig({
    ...net.env,
    HEDERA_SUBMIT_TIMEOUT_MS: '5000',
    HEDERA_RECEIPT_TIMEOUT_MS: '5000',
    HEDERA_LOOKUP_TIMEOUT_MS: '1000',
    ...extra,
  });
  const started = await HederaLedger.start(config!, log);
  ledgers.push(started);
  return started;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

beforeEach(async () => {
  net = await startMockHedera();
});
afterEach(async () => {
  for (const l of ledgers.splice(0)) l.close();
  await net.close();
});

describe('Hedera ledger', () => {
  it('prepares a signed message and submits exactly the stored bytes', async () => {
    const hedera = await ledger();
    const submission = await hedera.prepare(text('{"root":"ab"}'));
    const receipt = await hedera.submit(submission);
    expect(receipt.transactionId).toBe(submission.transactionId);
    expect(receipt.topicId).toBe(net.topicId);
    expect(receipt.sequenceNumber).toBe(1);
    expect(receipt.consensusTime).toMatch(
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/,
    );
    const ordered = net.ledger.messages(net.topicId);
    expect(ordered).toHaveLength(1);
    expect(receipt.runningHash).toBe(ordered[0]!.runningHash.toString('hex'));
    const stored = proto.TransactionList.decode(submission.bytes).transactionList;
    expect(
      stored.map((t) => Buffer.from(proto.Transaction.encode(t).finish())),
    ).toContainEqual(net.node.received[0]);
  });

  it('sends the same bytes again after BUSY and orders the message once', async () => {
    const hedera = await ledger();
    net.node.answerNext('BUSY');
    const receipt = await hedera.submit(await hedera.prepare(text('busy once')));
    expect(net.node.answered).toEqual(['BUSY', 'OK']);
    expect(net.node.received[0]).toEqual(net.node.received[1]);
    expect(receipt.sequenceNumber).toBe(1);
    expect(net.ledger.messages(net.topicId)).toHaveLength(1);
  });

  it('answers retry when every attempt is turned away BUSY', async () => {
    const hedera = await ledger({ HEDERA_MAX_ATTEMPTS: '2' });
    net.node.answerNext('BUSY', 'BUSY');
    const err = await hedera
      .submit(await hedera.prepare(text('busy')))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerError);
    expect((err as LedgerError).kind).toBe('retry');
    expect((err as LedgerError).status).toBe('BUSY');
    expect(net.ledger.messages(net.topicId)).toHaveLength(0);
  });

  it('answers retry when the platform did not create the transaction', async () => {
    const hedera = await ledger({ HEDERA_MAX_ATTEMPTS: '2' });
    net.node.answerNext(
      'PLATFORM_TRANSACTION_NOT_CREATED',
      'PLATFORM_TRANSACTION_NOT_CREATED',
    );
    const err = await hedera
      .submit(await hedera.prepare(text('p')))
      .catch((e: unknown) => e);
    expect((err as LedgerError).kind).toBe('retry');
    expect((err as LedgerError).status).toBe('PLATFORM_TRANSACTION_NOT_CREATED');
    expect(new Set(net.node.received.map((b) => b.toString('hex'))).size).toBe(1);
  });

  it('treats DUPLICATE_TRANSACTION on a resend as done and returns the same receipt', async () => {
    const hedera = await ledger();
    const submission = await hedera.prepare(text('twice'));
    const first = await hedera.submit(submission);
    const again = await hedera.submit(submission);
    expect(net.node.answered).toEqual(['OK', 'DUPLICATE_TRANSACTION']);
    expect(again).toEqual(first);
    expect(net.ledger.messages(net.topicId)).toHaveLength(1);
  });

  it('reads a duplicate from the mirror node once the network has dropped the receipt', async () => {
    const hedera = await ledger();
    const submission = await hedera.prepare(text('old one'));
    const first = await hedera.submit(submission);
    net.node.forgetReceipts();
    const again = await hedera.submit(submission);
    expect(again).toEqual(first);
    expect(net.ledger.messages(net.topicId)).toHaveLength(1);
  });

  it('stops with a permanent error on INVALID_SIGNATURE', async () => {
    const hedera = await ledger();
    const submission = await hedera.prepare(text('rotated'));
    net.ledger.addAccount('0.0.1001', PrivateKey.generateED25519().publicKey);
    const err = await hedera.submit(submission).catch((e: unknown) => e);
    expect((err as LedgerError).kind).toBe('permanent');
    expect((err as LedgerError).status).toBe('INVALID_SIGNATURE');
    expect((err as Error).message).toMatch(/HEDERA_PRIVATE_KEY/);
    expect(net.ledger.messages(net.topicId)).toHaveLength(0);
  });

  it('stops with a permanent error for a topic the network does not have', async () => {
    const hedera = await ledger({ HEDERA_TOPIC_ID: '0.0.999999' });
    const err = await hedera
      .submit(await hedera.prepare(text('x')))
      .catch((e: unknown) => e);
    expect((err as LedgerError).kind).toBe('permanent');
    expect((err as LedgerError).status).toBe('INVALID_TOPIC_ID');
  });

  it('answers retry for a transaction that expired before it was ordered', async () => {
    const hedera = await ledger();
    net.node.answerNext('TRANSACTION_EXPIRED');
    const err = await hedera
      .submit(await hedera.prepare(text('late')))
      .catch((e: unknown) => e);
    expect((err as LedgerError).kind).toBe('retry');
    expect((err as LedgerError).status).toBe('TRANSACTION_EXPIRED');
  });

  it('answers unconfirmed when no receipt comes before the deadline, and finds it later', async () => {
    const hedera = await ledger({ HEDERA_RECEIPT_TIMEOUT_MS: '800' });
    net.node.holdReceipts(true);
    const submission = await hedera.prepare(text('slow consensus'));
    const err = await hedera.submit(submission).catch((e: unknown) => e);
    expect((err as LedgerError).kind).toBe('unconfirmed');
    net.node.holdReceipts(false);
    const found = await hedera.lookup(submission.transactionId);
    expect(found?.sequenceNumber).toBe(1);
    expect(net.ledger.messages(net.topicId)).toHaveLength(1);
  });

  it('says a transaction never sent is unknown', async () => {
    const hedera = await ledger();
    const submission = await hedera.prepare(text('never sent'));
    expect(await hedera.lookup(submission.transactionId)).toBeUndefined();
  });

  it('reads an ordered message back through the mirror node', async () => {
    const hedera = await ledger();
    const receipt = await hedera.submit(await hedera.prepare(text('{"count":3}')));
    const message = await hedera.readMessage(net.topicId, receipt.sequenceNumber);
    expect(new TextDecoder().decode(message!.message)).toBe('{"count":3}');
    expect(message!.consensusTime).toBe(receipt.consensusTime);
    expect(message!.runningHash).toBe(receipt.runningHash);
    expect(await hedera.readMessage(net.topicId, 99)).toBeUndefined();
  });

  it('refuses at start a key that does not belong to the account', async () => {
    const other = PrivateKey.generateED25519();
    const err = await ledger({
      HEDERA_PRIVATE_KEY: `ed25519:${other.toStringRaw()}`,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/HEDERA_PRIVATE_KEY/);
    expect((err as Error).message).toMatch(/0\.0\.1001/);
    expect((err as Error).message).toMatch(/does not sign for that account/);
  });

  it('works with an ECDSA (secp256k1) account key', async () => {
    await net.close();
    net = await startMockHedera('ecdsa');
    const hedera = await ledger();
    const receipt = await hedera.submit(await hedera.prepare(text('ecdsa')));
    expect(receipt.sequenceNumber).toBe(1);
  });

  it('answers unconfirmed, not retry, when the node cannot be reached', async () => {
    const hedera = await ledger({
      HEDERA_SUBMIT_TIMEOUT_MS: '1500',
      HEDERA_MAX_ATTEMPTS: '2',
    });
    const submission = await hedera.prepare(text('node gone'));
    await net.node.close();
    const started = Date.now();
    const err = await hedera.submit(submission).catch((e: unknown) => e);
    expect((err as LedgerError).kind).toBe('unconfirmed');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
