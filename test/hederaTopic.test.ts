import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readHederaConfig } from '../src/anchor/hederaConfig.js';
import { createTopic } from '../src/anchor/hederaTopic.js';
import { createLogger } from '../src/log.js';
import { type MockHederaNetwork, startMockHedera } from './mocks/hederaNetwork.js';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
/** tsx's loader by absolute URL: the CLI runs in a folder where `tsx` does not resolve. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
let net: MockHederaNetwork;

beforeEach(async () => {
  net = await startMockHedera();
});
afterEach(async () => {
  await net.close();
});

/** The CLI in a folder of its own (no .env), with only the given settings. */
async function heru(args: string[], env: Record<string, string>) {
  const cwd = await mkdtemp(join(tmpdir(), 'heru-cli-'));
  try {
    return await run(process.execPath, ['--import', TSX, MAIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 30_000,
    });
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}

function withoutTopic(env: Record<string, string>): Record<string, string> {
  const copy = { ...env };
  delete copy.HEDERA_TOPIC_ID;
  return copy;
}

describe('Hedera topic creation', () => {
  it('creates a topic only the operator key may submit to', async () => {
    const env = withoutTopic(net.env);
    const topicId = await createTopic(readHederaConfig(env)!, createLogger('silent'));
    expect(topicId).toMatch(/^0\.0\.\d+$/);
    expect(topicId).not.toBe(net.topicId);
    expect(net.ledger.hasTopic(topicId)).toBe(true);
  });

  it('heru hedera create-topic prints the line to add to .env', async () => {
    const env = withoutTopic(net.env);
    const { stdout } = await heru(['hedera', 'create-topic'], env);
    const topicId = /HEDERA_TOPIC_ID=(0\.0\.\d+)/.exec(stdout)?.[1];
    expect(topicId).toBeDefined();
    expect(net.ledger.hasTopic(topicId!)).toBe(true);
  });

  it('heru hedera create-topic creates nothing when HEDERA_TOPIC_ID is set', async () => {
    const { stdout } = await heru(['hedera', 'create-topic'], net.env);
    expect(stdout).toMatch(/already set/);
    expect(net.node.answered).toEqual([]);
  });
});
