/**
 * Which network backends the environment asks for. Each answer is undefined when its
 * service is not configured, and the anchoring core then uses its local store or
 * local ledger; a half-configured service is a ConfigError naming the variable.
 *
 *   IPFS:   PINATA_JWT, or PINATA_API_KEY + PINATA_API_SECRET  → Pinata
 *           IPFS_API_URL                                       → a self-hosted node
 *   ledger: HEDERA_NETWORK, HEDERA_ACCOUNT_ID, HEDERA_PRIVATE_KEY, HEDERA_TOPIC_ID → Hedera
 *   Guardian (optional): GUARDIAN_API_URL with its credentials, policy and block tag
 *
 * Readers need no credentials: `heru verify` reads ledger messages through the mirror
 * node (HEDERA_MIRROR_URL, or the named network's) and files through a gateway.
 */
import { ConfigError } from '../config/ConfigError.js';
import { type Env, int, str, url } from '../config/env.js';
import type { Logger } from '../log.js';
import type { IpfsBackend, LedgerBackend } from './backends.js';
import { GuardianClient } from './guardian.js';
import { readGuardianConfig } from './guardianConfig.js';
import type { HederaLedger } from './hedera.js';
import { readHederaConfig } from './hederaConfig.js';
import { IpfsNode, readIpfsNodeConfig } from './ipfsNode.js';
import { MirrorNode } from './mirror.js';
import { PinataIpfs } from './pinata.js';
import { readPinataConfig } from './pinataConfig.js';
import { readThroughGateway } from './pinataGateway.js';

export interface NetworkBackends {
  /** Pinata or an IPFS node; undefined: use the local store. */
  ipfs?: IpfsBackend;
  /** Hedera; undefined: use the local ledger. Already checked that the key fits the account. */
  ledger?: LedgerBackend;
  /** Guardian; undefined when not configured. */
  guardian?: GuardianClient;
  /** Closes the network clients (the Hedera SDK's gRPC channels). */
  close(): void;
}

/** The IPFS backend the environment names, or undefined for the local store. */
export function ipfsFromConfig(env: Env, log: Logger): IpfsBackend | undefined {
  const pinata = readPinataConfig(env);
  const node = readIpfsNodeConfig(env);
  if (pinata && node) {
    throw new ConfigError(
      'IPFS_API_URL',
      'unset while Pinata credentials are set (pin through one service, not both)',
      node.apiUrl.origin,
    );
  }
  if (pinata) return new PinataIpfs(pinata, log.child({ ipfs: 'pinata' }));
  if (node) return new IpfsNode(node, log.child({ ipfs: 'ipfs-node' }));
  return undefined;
}

/**
 * The Hedera ledger when HEDERA_ACCOUNT_ID / HEDERA_PRIVATE_KEY are set, connected and
 * with its key checked against the account; undefined for the local ledger.
 */
export async function ledgerFromConfig(
  env: Env,
  log: Logger,
): Promise<HederaLedger | undefined> {
  const config = readHederaConfig(env);
  if (!config) return undefined;
  // The ledger SDK is large; only a process that anchors on Hedera loads it.
  const { HederaLedger } = await import('./hedera.js');
  return HederaLedger.start(config, log);
}

/** The Guardian client when GUARDIAN_API_URL is set. */
export function guardianFromConfig(env: Env, log: Logger): GuardianClient | undefined {
  const config = readGuardianConfig(env);
  return config
    ? new GuardianClient(config, log.child({ guardian: config.policyId }))
    : undefined;
}

/** All three at once; close() the result when done. */
export async function backendsFromConfig(
  env: Env,
  log: Logger,
): Promise<NetworkBackends> {
  const ipfs = ipfsFromConfig(env, log);
  const guardian = guardianFromConfig(env, log);
  const ledger = await ledgerFromConfig(env, log);
  const backends: NetworkBackends = { close: () => ledger?.close() };
  if (ipfs) backends.ipfs = ipfs;
  if (ledger) backends.ledger = ledger;
  if (guardian) backends.guardian = guardian;
  return backends;
}

/**
 * A mirror node to read Hedera topic messages without credentials: HEDERA_MIRROR_URL,
 * or the default of a named HEDERA_NETWORK; undefined when neither is set.
 */
export function mirrorFromConfig(env: Env): MirrorNode | undefined {
  const timeoutMs = int(env, 'HEDERA_LOOKUP_TIMEOUT_MS', 5_000, {
    min: 200,
    max: 600_000,
  });
  const explicit = url(env, 'HEDERA_MIRROR_URL', ['https:', 'http:']);
  if (explicit) return new MirrorNode(explicit, timeoutMs);
  const network = str(env, 'HEDERA_NETWORK');
  const named: Record<string, string> = {
    mainnet: 'https://mainnet-public.mirrornode.hedera.com',
    testnet: 'https://testnet.mirrornode.hedera.com',
    previewnet: 'https://previewnet.mirrornode.hedera.com',
  };
  const base = network === undefined ? undefined : named[network];
  return base ? new MirrorNode(new URL(base), timeoutMs) : undefined;
}

/**
 * A reader of files by CID through IPFS_GATEWAY_URL or PINATA_GATEWAY_URL (checked
 * against the CID), for verifying without pinning credentials; undefined when unset.
 */
export function gatewayFromConfig(
  env: Env,
): { fetch(cid: string): Promise<Uint8Array> } | undefined {
  const gateway =
    url(env, 'IPFS_GATEWAY_URL', ['https:', 'http:']) ??
    url(env, 'PINATA_GATEWAY_URL', ['https:', 'http:']);
  if (!gateway) return undefined;
  const token = str(env, 'PINATA_GATEWAY_TOKEN');
  return { fetch: (cid) => readThroughGateway(gateway, cid, 30_000, token) };
}
