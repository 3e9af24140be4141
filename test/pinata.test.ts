import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CidMismatchError, cidOf } from '../src/anchor/cid.js';
import { PinataIpfs } from '../src/anchor/pinata.js';
import { readPinataConfig } from '../src/anchor/pinataConfig.js';
import { createLogger } from '../src/log.js';
import { PinataMock } from './mocks/pinata.js';

const log = createLogger('silent');
const JWT = 'test-jwt-0123';
let mock: PinataMock;
let dataDir: string;

function pinata(extra: Record<string, string> = {}): PinataIpfs {
  const config = readPinataConfig({
    PINATA_JWT: JWT,
    PINATA_API_URL: mock.url.href,
    PINATA_GATEWAY_URL: mock.url.href,
    HERU_DATA_DIR: dataDir,
    PINATA_RATE_PER_MINUTE: '6000',
    PINATA_DATA_RATE_PER_MINUTE: '6000',
    ...extra,
  });
  if (!config) throw new Error('Pinata settings were not read');
  return new PinataIpfs(config, log);
}

const manifest = (n: number): Uint8Array =>
  new TextEncoder().encode(JSON.stringify({ batch: n, leaves: ['aa', 'bb'] }));

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'heru-pinata-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});
beforeEach(async (ctx) => {
  mock = await PinataMock.start({ jwt: JWT, apiKey: 'key-1', apiSecret: 'secret-1' });
  ctx.onTestFinished(() => mock.close());
});

describe('Pinata backend', () => {
  it('pins a manifest as CID v1 and answers the CID computed locally', async () => {
    const bytes = manifest(1);
    const cid = await pinata().pin(bytes, 'heru-batch-1.json');
    expect(cid).toBe(await cidOf(bytes));
    expect(mock.pinRequests).toBe(1);
    const pin = mock.pins.get(cid);
    expect(pin?.cid).toBe(cid);
    expect(pin?.name).toBe('heru-batch-1.json');
  });

  it('authenticates with the API key pair when no JWT is set', async () => {
    const config = readPinataConfig({
      PINATA_API_KEY: 'key-1',
      PINATA_API_SECRET: 'secret-1',
      PINATA_API_URL: mock.url.href,
      HERU_DATA_DIR: dataDir,
    });
    const cid = await new PinataIpfs(config!, log).pin(manifest(2), 'b2');
    expect(mock.pins.has(cid)).toBe(true);
  });

  it('refuses an answer whose CID is not the one computed locally', async () => {
    mock.answerWrongCid(1);
    await expect(pinata().pin(manifest(3), 'b3')).rejects.toBeInstanceOf(
      CidMismatchError,
    );
  });

  it('waits out the Retry-After of a 429 before pinning again', async () => {
    mock.answerTooManyRequests(1, '1');
    const cid = await pinata().pin(manifest(4), 'b4');
    expect(mock.pins.has(cid)).toBe(true);
    const [first, second] = mock.pinRequestTimes;
    expect(mock.pinRequestTimes).toHaveLength(2);
    expect(second! - first!).toBeGreaterThanOrEqual(950);
  });

  it('gives up to the caller when Retry-After is longer than it may wait', async () => {
    mock.answerTooManyRequests(1, '600');
    await expect(
      pinata({ PINATA_MAX_RETRY_AFTER_MS: '1000' }).pin(manifest(5), 'b5'),
    ).rejects.toThrow(/HTTP 429/);
    expect(mock.pinRequests).toBe(1);
  });

  it('after a timeout finds the pin landed and does not pin a second time', async () => {
    mock.hangPins(1, true);
    const bytes = manifest(6);
    const started = Date.now();
    const cid = await pinata({ PINATA_TIMEOUT_MS: '300' }).pin(bytes, 'b6');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(cid).toBe(await cidOf(bytes));
    expect(mock.pinRequests).toBe(1);
    expect(mock.pinListRequests).toBe(1);
    expect(mock.pins.size).toBe(1);
  });

  it('after a timeout whose pin did not land pins again, once', async () => {
    mock.hangPins(1, false);
    const cid = await pinata({ PINATA_TIMEOUT_MS: '300' }).pin(manifest(7), 'b7');
    expect(mock.pinRequests).toBe(2);
    expect(mock.pinListRequests).toBe(1);
    expect([...mock.pins.keys()]).toEqual([cid]);
  });

  it('reads a pinned file back from its local copy, and through the gateway without one', async () => {
    const bytes = manifest(8);
    const cid = await pinata().pin(bytes, 'b8');
    expect(Buffer.from(await pinata().fetch(cid))).toEqual(Buffer.from(bytes));
    const elsewhere = await mkdtemp(join(tmpdir(), 'heru-pinata-other-'));
    try {
      const fresh = pinata({ HERU_DATA_DIR: elsewhere });
      expect(Buffer.from(await fresh.fetch(cid))).toEqual(Buffer.from(bytes));
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('spaces its calls to stay under the configured rate', async () => {
    const client = pinata({ PINATA_RATE_PER_MINUTE: '600' });
    await Promise.all([1, 2, 3].map((n) => client.pin(manifest(100 + n), `r${n}`)));
    const times = mock.pinRequestTimes;
    expect(times).toHaveLength(3);
    expect(times[2]! - times[0]!).toBeGreaterThanOrEqual(180);
  });

  it('reports failing health when the credentials are refused', async () => {
    expect((await pinata().health()).status).toBe('ok');
    const entry = await pinata({ PINATA_JWT: 'wrong' }).health();
    expect(entry.status).toBe('failing');
    expect(entry.detail).toMatch(/HTTP 401/);
  });
});
