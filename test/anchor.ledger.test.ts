import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalLedger } from '../src/anchor/localLedger.js';
import { parseConsensusTime } from '../src/anchor/runningHash.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const log = createLogger('silent');

/** The version-3 running hash written out byte by byte, as the HAPI documents it. */
function expectedRunningHash(
  previous: Buffer,
  seq: number,
  consensusTime: string,
  message: Buffer,
): Buffer {
  const u64 = (n: bigint): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(n);
    return b;
  };
  const t = parseConsensusTime(consensusTime);
  const nanos = Buffer.alloc(4);
  nanos.writeUInt32BE(t.nanos);
  return createHash('sha384')
    .update(
      Buffer.concat([
        previous,
        u64(3n), // running hash version
        u64(0n),
        u64(0n),
        u64(2n), // payer 0.0.2
        u64(0n),
        u64(0n),
        u64(1000n), // topic 0.0.1000
        u64(t.seconds),
        nanos,
        u64(BigInt(seq)),
        createHash('sha384').update(message).digest(),
      ]),
    )
    .digest();
}

describe('the local ledger', () => {
  let db: TestDatabase;
  let pool: Pool;
  let ledger: LocalLedger;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, log, { max: 4 });
    await migrate(pool, log);
    ledger = new LocalLedger(pool);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('orders messages from sequence number 1 with strictly increasing nanosecond times', async () => {
    const receipts = [];
    for (const text of ['first', 'second', 'third']) {
      receipts.push(await ledger.submit(await ledger.prepare(Buffer.from(text))));
    }
    expect(receipts.map((r) => r.sequenceNumber)).toEqual([1, 2, 3]);
    const times = receipts.map((r) => parseConsensusTime(r.consensusTime));
    for (let i = 1; i < times.length; i += 1) {
      const before = times[i - 1]!.seconds * 1_000_000_000n + BigInt(times[i - 1]!.nanos);
      const after = times[i]!.seconds * 1_000_000_000n + BigInt(times[i]!.nanos);
      expect(after > before).toBe(true);
    }
  });

  it('chains each message to the one before with the version-3 running hash', async () => {
    let previous: Buffer = Buffer.alloc(48);
    for (let seq = 1; seq <= 3; seq += 1) {
      const m = (await ledger.readMessage('0.0.1000', seq))!;
      const expected: Buffer = expectedRunningHash(
        previous,
        seq,
        m.consensusTime,
        Buffer.from(m.message),
      );
      expect(m.runningHash).toBe(expected.toString('hex'));
      previous = expected;
    }
  });

  it('answers a transaction sent again with its first receipt and appends nothing', async () => {
    const submission = await ledger.prepare(Buffer.from('once'));
    const first = await ledger.submit(submission);
    const again = await ledger.submit(submission);
    expect(again).toEqual(first);
    expect(await ledger.lookup(submission.transactionId)).toEqual(first);
    const { rows } = await pool.query<{ n: number }>(
      'select count(*)::int as n from local_ledger_message',
    );
    expect(rows[0]!.n).toBe(4);
  });

  it('gives ten concurrent submissions ten distinct sequence numbers', async () => {
    const subs = await Promise.all(
      Array.from({ length: 10 }, (_, i) => ledger.prepare(Buffer.from(`c${i}`))),
    );
    const receipts = await Promise.all(subs.map((s) => ledger.submit(s)));
    expect(new Set(receipts.map((r) => r.sequenceNumber)).size).toBe(10);
    expect(Math.max(...receipts.map((r) => r.sequenceNumber))).toBe(14);
  });

  it('knows nothing of a transaction it never saw, and refuses to change a message', async () => {
    expect(await ledger.lookup('0.0.2@1.000000001')).toBeUndefined();
    expect(await ledger.readMessage('0.0.1000', 99)).toBeUndefined();
    await expect(
      pool.query(
        "update local_ledger_message set message = 'x' where sequence_number = 1",
      ),
    ).rejects.toThrow(/append-only/);
  });
});
