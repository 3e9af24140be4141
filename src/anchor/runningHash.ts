/**
 * The running hash of a Hedera Consensus Service topic, version 3, as documented on
 * `topicRunningHash` in the HAPI's TransactionReceipt: SHA-384 over, in order,
 *
 *   previous running hash (48 bytes; 48 zero bytes before the first message)
 *   running hash version, 3 (8 bytes)
 *   payer account shard, realm, number (8 bytes each)
 *   topic shard, realm, number (8 bytes each)
 *   consensus time: seconds since 1970 (8 bytes), nanoseconds (4 bytes)
 *   topic sequence number (8 bytes)
 *   SHA-384 of the message bytes (48 bytes)
 *
 * with every integer big-endian. Each message's hash commits to every message before
 * it, so no message of the log can be changed, dropped or reordered unseen.
 */
import { createHash } from 'node:crypto';

export const RUNNING_HASH_VERSION = 3;

/** 48 zero bytes: a topic's running hash before its first message. */
export const INITIAL_RUNNING_HASH: Buffer = Buffer.alloc(48);

/** An entity id `shard.realm.num`, e.g. `0.0.1001`. */
export interface EntityId {
  shard: bigint;
  realm: bigint;
  num: bigint;
}

/** Parses `shard.realm.num`; throws for anything else. */
export function parseEntityId(text: string): EntityId {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!m) throw new Error(`${JSON.stringify(text)} is not an entity id like 0.0.1001`);
  return { shard: BigInt(m[1]!), realm: BigInt(m[2]!), num: BigInt(m[3]!) };
}

/** A consensus time as whole seconds since 1970 and nanoseconds within the second. */
export interface ConsensusTime {
  seconds: bigint;
  nanos: number;
}

export interface RunningHashInput {
  previous: Uint8Array;
  payer: EntityId;
  topic: EntityId;
  consensusTime: ConsensusTime;
  sequenceNumber: bigint;
  message: Uint8Array;
}

/** The topic's running hash after this message (48 bytes). */
export function nextRunningHash(input: RunningHashInput): Buffer {
  if (input.previous.length !== 48) {
    throw new Error(`a running hash is 48 bytes, got ${input.previous.length}`);
  }
  const fixed = Buffer.alloc(8 * 8 + 4 + 8);
  let at = 0;
  const u64 = (v: bigint): void => {
    at = fixed.writeBigUInt64BE(v, at);
  };
  u64(BigInt(RUNNING_HASH_VERSION));
  u64(input.payer.shard);
  u64(input.payer.realm);
  u64(input.payer.num);
  u64(input.topic.shard);
  u64(input.topic.realm);
  u64(input.topic.num);
  u64(input.consensusTime.seconds);
  at = fixed.writeUInt32BE(input.consensusTime.nanos, at);
  u64(input.sequenceNumber);
  const messageHash = createHash('sha384').update(input.message).digest();
  return createHash('sha384')
    .update(input.previous)
    .update(fixed)
    .update(messageHash)
    .digest();
}

/** `2026-01-02T03:04:05.123456789Z` for a consensus time. */
export function formatConsensusTime(t: ConsensusTime): string {
  const iso = new Date(Number(t.seconds) * 1000).toISOString().slice(0, 19);
  return `${iso}.${String(t.nanos).padStart(9, '0')}Z`;
}

/** Parses `…T…(.fraction)Z` (up to nine fractional digits) or `seconds.nanos`. */
export function parseConsensusTime(text: string): ConsensusTime {
  const plain = /^(\d+)\.(\d{1,9})$/.exec(text);
  if (plain) {
    return { seconds: BigInt(plain[1]!), nanos: Number(plain[2]!.padEnd(9, '0')) };
  }
  const iso = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(text);
  const ms = iso ? Date.parse(`${iso[1]!}Z`) : Number.NaN;
  if (!iso || Number.isNaN(ms)) {
    throw new Error(`${JSON.stringify(text)} is not a consensus time`);
  }
  return { seconds: BigInt(ms / 1000), nanos: Number((iso[2] ?? '').padEnd(9, '0')) };
}
