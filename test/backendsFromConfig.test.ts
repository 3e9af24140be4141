import { describe, expect, it } from 'vitest';
import {
  backendsFromConfig,
  gatewayFromConfig,
  ipfsFromConfig,
  mirrorFromConfig,
} from '../src/anchor/backendsFromConfig.js';
import { readHederaConfig } from '../src/anchor/hederaConfig.js';
import { ConfigError } from '../src/config/ConfigError.js';
import { createLogger } from '../src/log.js';
import { startMockHedera } from './mocks/hederaNetwork.js';
import { PinataMock } from './mocks/pinata.js';

const log = createLogger('silent');

describe('backends from the environment', () => {
  it('answers undefined for every service when nothing is configured', async () => {
    const backends = await backendsFromConfig({}, log);
    expect(backends.ipfs).toBeUndefined();
    expect(backends.ledger).toBeUndefined();
    expect(backends.guardian).toBeUndefined();
    backends.close();
  });

  it('picks Pinata for a JWT or a key pair, and the IPFS node for IPFS_API_URL', () => {
    expect(ipfsFromConfig({ PINATA_JWT: 'j' }, log)?.name).toBe('pinata');
    expect(
      ipfsFromConfig({ PINATA_API_KEY: 'k', PINATA_API_SECRET: 's' }, log)?.name,
    ).toBe('pinata');
    expect(ipfsFromConfig({ IPFS_API_URL: 'http://127.0.0.1:5001' }, log)?.name).toBe(
      'ipfs-node',
    );
  });

  it('refuses half a Pinata key pair, or Pinata and an IPFS node together', () => {
    expect(() => ipfsFromConfig({ PINATA_API_KEY: 'k' }, log)).toThrow(
      /PINATA_API_SECRET/,
    );
    expect(() =>
      ipfsFromConfig({ PINATA_JWT: 'j', IPFS_API_URL: 'http://127.0.0.1:5001' }, log),
    ).toThrow(ConfigError);
  });

  it('asks for the key type of HEDERA_PRIVATE_KEY instead of guessing it', () => {
    const base = { HEDERA_NETWORK: 'testnet', HEDERA_ACCOUNT_ID: '0.0.1001' };
    expect(() =>
      readHederaConfig({ ...base, HEDERA_PRIVATE_KEY: 'ab'.repeat(32) }),
    ).toThrow(/HEDERA_KEY_TYPE/);
    const typed = readHederaConfig({
      ...base,
      HEDERA_PRIVATE_KEY: `ecdsa:${'ab'.repeat(32)}`,
    });
    expect(typed?.keyType).toBe('ecdsa');
    const byVariable = readHederaConfig({
      ...base,
      HEDERA_PRIVATE_KEY: 'ab'.repeat(32),
      HEDERA_KEY_TYPE: 'ed25519',
    });
    expect(byVariable?.keyType).toBe('ed25519');
  });

  it('reads a network of its own as host:port=node account pairs', () => {
    const config = readHederaConfig({
      HEDERA_NETWORK: '127.0.0.1:50211=0.0.3,127.0.0.1:50212=0.0.4',
      HEDERA_ACCOUNT_ID: '0.0.1001',
      HEDERA_PRIVATE_KEY: `ed25519:${'ab'.repeat(32)}`,
      HEDERA_MIRROR_URL: 'http://127.0.0.1:5551',
    });
    expect(config?.network).toEqual({
      '127.0.0.1:50211': '0.0.3',
      '127.0.0.1:50212': '0.0.4',
    });
    expect(() =>
      readHederaConfig({
        HEDERA_NETWORK: 'nowhere',
        HEDERA_ACCOUNT_ID: '0.0.1001',
        HEDERA_PRIVATE_KEY: `ed25519:${'ab'.repeat(32)}`,
      }),
    ).toThrow(/HEDERA_NETWORK/);
  });

  it('starts the Hedera ledger and Pinata from a full environment', async () => {
    const net = await startMockHedera();
    const pinata = await PinataMock.start({ jwt: 'j' });
    try {
      const backends = await backendsFromConfig(
        { ...net.env, PINATA_JWT: 'j', PINATA_API_URL: pinata.url.href },
        log,
      );
      expect(backends.ledger?.name).toBe('hedera');
      expect(backends.ledger?.topicId).toBe(net.topicId);
      expect(backends.ipfs?.name).toBe('pinata');
      backends.close();
    } finally {
      await Promise.all([net.close(), pinata.close()]);
    }
  });

  it('reads ledger messages and files without any credentials', async () => {
    const net = await startMockHedera();
    const pinata = await PinataMock.start({ jwt: 'j' });
    try {
      net.ledger.submit(
        net.topicId,
        '0.0.1001',
        '0.0.1001@5.000000000',
        Buffer.from('hi'),
      );
      const mirror = mirrorFromConfig({ HEDERA_MIRROR_URL: net.mirror.url.href });
      const message = await mirror?.message(net.topicId, 1);
      expect(Buffer.from(message!.message).toString()).toBe('hi');
      expect(mirrorFromConfig({ HEDERA_NETWORK: 'testnet' })).toBeDefined();
      expect(mirrorFromConfig({})).toBeUndefined();
      expect(gatewayFromConfig({})).toBeUndefined();
      expect(gatewayFromConfig({ IPFS_GATEWAY_URL: pinata.url.href })).toBeDefined();
    } finally {
      await Promise.all([net.close(), pinata.close()]);
    }
  });
});
