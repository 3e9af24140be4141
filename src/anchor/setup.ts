/**
 * Picks the queue and the backends from the settings: Redis when REDIS_URL is set,
 * else the in-process queue; Pinata or a self-hosted IPFS node when configured, else
 * the local store; Hedera when its account is set, else the local ledger; Guardian
 * when configured. Without any of them the whole flow runs offline.
 */
import { join } from 'node:path';
import type { AnchorConfig } from '../config/config.js';
import type { Env } from '../config/env.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import type { JobQueue } from '../queue/jobQueue.js';
import { MemoryQueue } from '../queue/memoryQueue.js';
import type { IpfsBackend, LedgerBackend } from './backends.js';
import {
  backendsFromConfig,
  gatewayFromConfig,
  ipfsFromConfig,
  mirrorFromConfig,
} from './backendsFromConfig.js';
import type { GuardianClient } from './guardian.js';
import { LocalLedger } from './localLedger.js';
import { LocalStore } from './localStore.js';
import type { ManifestReader, LedgerReader } from './verify.js';

/** The in-process queue, or BullMQ's with REDIS_URL (imported only then: slow to load). */
export async function createQueue(config: AnchorConfig, log: Logger): Promise<JobQueue> {
  const queueLog = log.child({ part: 'queue' });
  if (!config.redisUrl) return new MemoryQueue(queueLog);
  const { RedisQueue } = await import('../queue/redisQueue.js');
  return new RedisQueue({ url: config.redisUrl, name: config.queueName }, queueLog);
}

export interface AnchorBackends {
  ipfs: IpfsBackend;
  ledger: LedgerBackend;
  guardian?: GuardianClient;
  /** Closes network clients (Hedera's gRPC channels). */
  close(): void;
}

/** The worker's backends; Hedera's key is checked against its account here. */
export async function createBackends(
  env: Env,
  config: AnchorConfig,
  pool: Pool,
  log: Logger,
): Promise<AnchorBackends> {
  const network = await backendsFromConfig(env, log);
  return {
    ipfs: network.ipfs ?? new LocalStore(join(config.dataDir, 'ipfs')),
    ledger: network.ledger ?? new LocalLedger(pool),
    ...(network.guardian ? { guardian: network.guardian } : {}),
    close: () => network.close(),
  };
}

/**
 * Where `heru verify` reads from, needing no credentials: the local ledger, or
 * Hedera through its mirror node; manifests from the configured IPFS backend, a
 * gateway, or the local store, whichever has them (verify checks the CID).
 */
export function verifySources(
  env: Env,
  config: AnchorConfig,
  pool: Pool,
  log: Logger,
): { ledgerFor(name: string | null): LedgerReader; manifests: ManifestReader } {
  const local = new LocalLedger(pool);
  const mirror = mirrorFromConfig(env);
  const readers = [
    ipfsFromConfig(env, log),
    gatewayFromConfig(env),
    new LocalStore(join(config.dataDir, 'ipfs')),
  ].filter((r) => r !== undefined);
  return {
    ledgerFor(name) {
      if (name !== 'hedera') return local;
      if (!mirror) {
        return {
          name: 'hedera',
          readMessage: () =>
            Promise.reject(
              new Error('set HEDERA_MIRROR_URL or HEDERA_NETWORK to read Hedera'),
            ),
        };
      }
      return { name: 'hedera', readMessage: (topic, seq) => mirror.message(topic, seq) };
    },
    manifests: {
      name: 'the configured stores',
      async fetch(cid) {
        const errors: string[] = [];
        for (const r of readers) {
          try {
            return await r.fetch(cid);
          } catch (err) {
            errors.push((err as Error).message);
          }
        }
        throw new Error(errors.join('; '));
      },
    },
  };
}
