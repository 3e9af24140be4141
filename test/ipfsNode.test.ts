import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cidOf } from '../src/anchor/cid.js';
import { IpfsNode, readIpfsNodeConfig } from '../src/anchor/ipfsNode.js';
import { createLogger } from '../src/log.js';
import { IpfsNodeMock } from './mocks/ipfsNode.js';

const log = createLogger('silent');
let mock: IpfsNodeMock;

function node(extra: Record<string, string> = {}): IpfsNode {
  const apiUrl = new URL(mock.url.href);
  apiUrl.username = 'heru';
  apiUrl.password = 's3cret';
  const config = readIpfsNodeConfig({ IPFS_API_URL: apiUrl.href, ...extra });
  if (!config) throw new Error('IPFS_API_URL was not read');
  return new IpfsNode(config, log);
}

beforeEach(async () => {
  mock = await IpfsNodeMock.start({ user: 'heru', password: 's3cret' });
});
afterEach(async () => {
  await mock.close();
});

describe('IPFS node backend', () => {
  it('adds and pins a file as CID v1 and answers the CID computed locally', async () => {
    const bytes = new TextEncoder().encode('{"batch":1}');
    const cid = await node().pin(bytes, 'heru-batch-1.json');
    expect(cid).toBe(await cidOf(bytes));
    expect(mock.pinned.has(cid)).toBe(true);
    expect(await node().isPinned(cid)).toBe(true);
  });

  it('gives the same CID as the node for a file of several chunks', async () => {
    const bytes = new Uint8Array(700_000).map((_, i) => i % 253);
    const cid = await node().pin(bytes, 'big.json');
    expect(cid.startsWith('bafybei')).toBe(true);
  });

  it('reads a pinned file back with cat and checks it against the CID', async () => {
    const bytes = new TextEncoder().encode('manifest bytes');
    const cid = await node().pin(bytes, 'm.json');
    expect(Buffer.from(await node().fetch(cid))).toEqual(Buffer.from(bytes));
  });

  it('says a CID it never saw is not pinned', async () => {
    expect(await node().isPinned(await cidOf(new TextEncoder().encode('never')))).toBe(
      false,
    );
  });

  it('after an add that timed out finds the pin and does not add again', async () => {
    mock.hangNextAdds(1);
    const bytes = new TextEncoder().encode('slow');
    const cid = await node({ IPFS_TIMEOUT_MS: '300' }).pin(bytes, 'slow.json');
    expect(cid).toBe(await cidOf(bytes));
    expect(mock.addRequests).toBe(1);
  });

  it('reports the node version as healthy and a refused login as failing', async () => {
    expect((await node().health()).status).toBe('ok');
    const config = readIpfsNodeConfig({ IPFS_API_URL: mock.url.href });
    const entry = await new IpfsNode(config!, log).health();
    expect(entry.status).toBe('failing');
    expect(entry.detail).toMatch(/401/);
  });
});
