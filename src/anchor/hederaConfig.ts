import { ConfigError } from '../config/ConfigError.js';
import { type Env, int, oneOf, str, url } from '../config/env.js';

export type HederaKeyType = 'ed25519' | 'ecdsa';
export type HederaNetworkName = 'mainnet' | 'testnet' | 'previewnet';

export interface HederaConfig {
  /**
   * `HEDERA_NETWORK`: `mainnet`, `testnet`, `previewnet`, or the consensus nodes of a
   * network of one's own as `host:port=0.0.3[,host:port=0.0.4…]`.
   */
  network: HederaNetworkName | Record<string, string>;
  /** `HEDERA_ACCOUNT_ID`: the paying account, `0.0.1234`. */
  accountId: string;
  /** `HEDERA_PRIVATE_KEY` without its type prefix; never logged. */
  privateKey: string;
  /** From the `ed25519:` / `ecdsa:` prefix of the key, or `HEDERA_KEY_TYPE`. */
  keyType: HederaKeyType;
  /** `HEDERA_TOPIC_ID`, `0.0.5678`; absent until `heru hedera create-topic` made one. */
  topicId?: string;
  /** `HEDERA_MIRROR_URL`: mirror node REST base; defaults to the named network's. */
  mirrorUrl: URL;
  /** `HEDERA_SUBMIT_TIMEOUT_MS`: sending one transaction, SDK retries included, default 30000. */
  submitTimeoutMs: number;
  /** `HEDERA_RECEIPT_TIMEOUT_MS`: waiting for a receipt before `unconfirmed`, default 30000. */
  receiptTimeoutMs: number;
  /** `HEDERA_LOOKUP_TIMEOUT_MS`: asking a node for an old receipt before the mirror, default 5000. */
  lookupTimeoutMs: number;
  /** `HEDERA_MAX_ATTEMPTS`: SDK attempts per transaction (BUSY and the like), default 5. */
  maxAttempts: number;
}

const ENTITY_ID = /^\d+\.\d+\.\d+$/;
const MIRRORS: Record<HederaNetworkName, string> = {
  mainnet: 'https://mainnet-public.mirrornode.hedera.com',
  testnet: 'https://testnet.mirrornode.hedera.com',
  previewnet: 'https://previewnet.mirrornode.hedera.com',
};

/** Hedera's settings, or undefined when neither HEDERA_ACCOUNT_ID nor the key is set. */
export function readHederaConfig(env: Env): HederaConfig | undefined {
  const accountId = str(env, 'HEDERA_ACCOUNT_ID');
  const rawKey = str(env, 'HEDERA_PRIVATE_KEY');
  if (!accountId && !rawKey) return undefined;
  if (!accountId || !ENTITY_ID.test(accountId)) {
    throw new ConfigError(
      'HEDERA_ACCOUNT_ID',
      'an account id such as 0.0.1234',
      accountId,
    );
  }
  if (!rawKey) {
    throw new ConfigError('HEDERA_PRIVATE_KEY', 'the private key of HEDERA_ACCOUNT_ID');
  }
  const network = readNetwork(env);
  const config: HederaConfig = {
    network,
    accountId,
    ...readKey(env, rawKey),
    mirrorUrl: readMirrorUrl(env, network),
    submitTimeoutMs: int(env, 'HEDERA_SUBMIT_TIMEOUT_MS', 30_000, {
      min: 500,
      max: 600_000,
    }),
    receiptTimeoutMs: int(env, 'HEDERA_RECEIPT_TIMEOUT_MS', 30_000, {
      min: 500,
      max: 600_000,
    }),
    lookupTimeoutMs: int(env, 'HEDERA_LOOKUP_TIMEOUT_MS', 5_000, {
      min: 200,
      max: 600_000,
    }),
    maxAttempts: int(env, 'HEDERA_MAX_ATTEMPTS', 5, { min: 1, max: 50 }),
  };
  const topicId = str(env, 'HEDERA_TOPIC_ID');
  if (topicId !== undefined) {
    if (!ENTITY_ID.test(topicId)) {
      throw new ConfigError('HEDERA_TOPIC_ID', 'a topic id such as 0.0.5678', topicId);
    }
    config.topicId = topicId;
  }
  return config;
}

function readNetwork(env: Env): HederaConfig['network'] {
  const raw = str(env, 'HEDERA_NETWORK');
  const expected =
    'mainnet, testnet, previewnet, or nodes as host:port=0.0.3[,host:port=0.0.4]';
  if (raw === undefined) throw new ConfigError('HEDERA_NETWORK', expected);
  if (raw === 'mainnet' || raw === 'testnet' || raw === 'previewnet') return raw;
  const nodes: Record<string, string> = {};
  for (const part of raw.split(',')) {
    const m = /^\s*([\w.-]+:\d+)=(\d+\.\d+\.\d+)\s*$/.exec(part);
    if (!m) throw new ConfigError('HEDERA_NETWORK', expected, raw);
    nodes[m[1]!] = m[2]!;
  }
  return nodes;
}

/** The key's type comes from its prefix or HEDERA_KEY_TYPE, never guessed. */
function readKey(env: Env, raw: string): { privateKey: string; keyType: HederaKeyType } {
  const m = /^(ed25519|ecdsa):(.+)$/i.exec(raw);
  const fromPrefix = m ? (m[1]!.toLowerCase() as HederaKeyType) : undefined;
  const keyTypes: readonly HederaKeyType[] = ['ed25519', 'ecdsa'];
  const fromVariable = str(env, 'HEDERA_KEY_TYPE')
    ? oneOf(env, 'HEDERA_KEY_TYPE', keyTypes, 'ed25519')
    : undefined;
  const keyType = fromPrefix ?? fromVariable;
  if (!keyType) {
    throw new ConfigError(
      'HEDERA_KEY_TYPE',
      'ed25519 or ecdsa (or prefix HEDERA_PRIVATE_KEY with "ed25519:" or "ecdsa:")',
    );
  }
  if (fromPrefix && fromVariable && fromPrefix !== fromVariable) {
    throw new ConfigError(
      'HEDERA_KEY_TYPE',
      `${fromPrefix}, as the key's prefix says`,
      fromVariable,
    );
  }
  return { privateKey: m ? m[2]!.trim() : raw, keyType };
}

function readMirrorUrl(env: Env, network: HederaConfig['network']): URL {
  const fromEnv = url(env, 'HEDERA_MIRROR_URL', ['https:', 'http:']);
  if (fromEnv) return fromEnv;
  if (typeof network === 'string') return new URL(MIRRORS[network]);
  throw new ConfigError(
    'HEDERA_MIRROR_URL',
    'the REST base URL of the mirror node of this network, e.g. http://127.0.0.1:5551',
  );
}
