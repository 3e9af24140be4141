/**
 * A local server speaking the HTTP RPC API of an IPFS node (Kubo) on 127.0.0.1:
 * `add` (multipart; `cid-version`, `raw-leaves`, `pin`), `pin/ls`, `cat` and
 * `version`, POST only as Kubo asks, with optional basic auth.
 */
import type http from 'node:http';
import { CID } from 'multiformats/cid';
import {
  formDataOf,
  type MockHttpServer,
  sendJson,
  startHttpServer,
} from './httpServer.js';
import { kuboCid } from './unixfs.js';

export class IpfsNodeMock {
  /** Content by CID in v1 normal form. */
  readonly blocks = new Map<string, Uint8Array>();
  readonly pinned = new Set<string>();
  addRequests = 0;
  private hangAdds = 0;

  private constructor(
    private readonly server: MockHttpServer,
    private readonly basicAuth?: string,
  ) {}

  static async start(auth?: { user: string; password: string }): Promise<IpfsNodeMock> {
    const box: { mock?: IpfsNodeMock } = {};
    const server = await startHttpServer((req, res, body) =>
      box.mock!.handle(req, res, body),
    );
    const basic = auth
      ? `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`
      : undefined;
    box.mock = new IpfsNodeMock(server, basic);
    return box.mock;
  }

  get url(): URL {
    return this.server.url;
  }

  /** The next `count` adds store and pin the file but never answer. */
  hangNextAdds(count: number): void {
    this.hangAdds = count;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private async handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
  ) {
    if (this.basicAuth && req.headers.authorization !== this.basicAuth) {
      return sendJson(res, 401, { Message: 'unauthorized', Code: 0, Type: 'error' });
    }
    if (req.method !== 'POST') {
      return sendJson(res, 405, { Message: 'use POST', Code: 0, Type: 'error' });
    }
    const url = new URL(req.url ?? '/', this.server.url);
    switch (url.pathname) {
      case '/api/v0/add':
        return this.add(req, res, url, body);
      case '/api/v0/pin/ls':
        return this.pinLs(res, url.searchParams.get('arg') ?? '');
      case '/api/v0/cat':
        return this.cat(res, url.searchParams.get('arg') ?? '');
      case '/api/v0/version':
        return sendJson(res, 200, { Version: '0.0.0-mock', Commit: '', Repo: '16' });
      default:
        return sendJson(res, 404, { Message: 'no such command', Code: 0, Type: 'error' });
    }
  }

  private async add(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    body: Buffer,
  ) {
    this.addRequests += 1;
    const file = (await formDataOf(req, body)).get('file');
    if (!(file instanceof Blob))
      return sendJson(res, 400, { Message: 'no file', Code: 0 });
    const bytes = new Uint8Array(await file.arrayBuffer());
    const version = url.searchParams.get('cid-version') === '1' ? 1 : 0;
    const cid = await kuboCid(bytes, version);
    const key = CID.parse(cid).toV1().toString();
    this.blocks.set(key, bytes);
    if (url.searchParams.get('pin') !== 'false') this.pinned.add(key);
    if (this.hangAdds > 0) {
      this.hangAdds -= 1;
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      `${JSON.stringify({ Name: file.name, Hash: cid, Size: String(bytes.length) })}\n`,
    );
  }

  private pinLs(res: http.ServerResponse, arg: string): void {
    const key = keyOf(arg);
    if (!key || !this.pinned.has(key)) {
      return sendJson(res, 500, {
        Message: `path '${arg}' is not pinned`,
        Code: 0,
        Type: 'error',
      });
    }
    sendJson(res, 200, { Keys: { [arg]: { Type: 'recursive' } } });
  }

  private cat(res: http.ServerResponse, arg: string): void {
    const key = keyOf(arg);
    const bytes = key ? this.blocks.get(key) : undefined;
    if (!bytes)
      return sendJson(res, 500, { Message: 'block was not found locally', Code: 0 });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(bytes);
  }
}

function keyOf(arg: string): string | undefined {
  try {
    return CID.parse(arg).toV1().toString();
  } catch {
    return undefined;
  }
}
