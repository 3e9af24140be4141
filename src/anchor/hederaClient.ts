/**
 * The SDK client for the configured network, the operator's key, and the start-up
 * check that the key belongs to the account (asked of the network's crypto service,
 * AccountInfoQuery), so a wrong key fails at start and not at the first batch.
 */
import {
  AccountInfoQuery,
  Client,
  KeyList,
  PrivateKey,
  PublicKey,
} from '@hiero-ledger/sdk';
import { ConfigError } from '../config/ConfigError.js';
import type { HederaConfig } from './hederaConfig.js';

/** The operator's key; throws ConfigError naming HEDERA_PRIVATE_KEY (never its value). */
export function operatorKey(config: HederaConfig): PrivateKey {
  try {
    return config.keyType === 'ed25519'
      ? PrivateKey.fromStringED25519(config.privateKey)
      : PrivateKey.fromStringECDSA(config.privateKey);
  } catch {
    throw new ConfigError(
      'HEDERA_PRIVATE_KEY',
      `an ${config.keyType} private key as hex or DER (type from its prefix or HEDERA_KEY_TYPE)`,
      '[redacted]',
    );
  }
}

/** A client for the configured network with the account as operator. */
export function hederaClient(config: HederaConfig, key: PrivateKey): Client {
  const client =
    typeof config.network === 'string'
      ? Client.forName(config.network)
      : Client.forNetwork(config.network, { scheduleNetworkUpdate: false });
  if (typeof config.network !== 'string')
    client.setMirrorNetwork([config.mirrorUrl.host]);
  // One gRPC call must end well before the whole request's deadline (the SDK asks it).
  client.setGrpcDeadline(Math.max(250, Math.floor(config.submitTimeoutMs / 3)));
  client.setRequestTimeout(config.submitTimeoutMs);
  client.setOperator(config.accountId, key);
  client.setMaxAttempts(config.maxAttempts);
  return client;
}

/** Throws with a message the operator can act on when `key` cannot sign for the account. */
export async function checkAccountKey(
  client: Client,
  config: HederaConfig,
  key: PrivateKey,
): Promise<void> {
  let accountKey: unknown;
  try {
    const info = await new AccountInfoQuery()
      .setAccountId(config.accountId)
      .execute(client, config.lookupTimeoutMs * 2);
    accountKey = info.key;
  } catch (err) {
    throw new Error(
      `could not read the key of account ${config.accountId} (HEDERA_ACCOUNT_ID) from ` +
        `the network: ${(err as Error).message}. Check HEDERA_NETWORK and that the account exists.`,
    );
  }
  if (canSignAlone(accountKey, key.publicKey)) return;
  throw new ConfigError(
    'HEDERA_PRIVATE_KEY',
    `the private key of account ${config.accountId}; the key given has public key ` +
      `${key.publicKey.toStringDer()} (${config.keyType}), which does not sign for that ` +
      'account. Set the key that belongs to HEDERA_ACCOUNT_ID, and its type',
    '[redacted]',
  );
}

/** True when a signature of `publicKey` alone satisfies `accountKey`. */
function canSignAlone(accountKey: unknown, publicKey: PublicKey): boolean {
  if (accountKey instanceof PublicKey) return accountKey.equals(publicKey);
  if (accountKey instanceof KeyList) {
    const threshold = accountKey.threshold ?? accountKey.toArray().length;
    if (threshold > 1) return false;
    return accountKey.toArray().some((k) => canSignAlone(k, publicKey));
  }
  return false;
}
