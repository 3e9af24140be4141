/**
 * A local server speaking Pinata's pinning API on 127.0.0.1: `POST
 * /pinning/pinFileToIPFS` (multipart, `pinataOptions.cidVersion`, `pinataMetadata`),
 * `GET /data/pinList`, `GET /data/testAuthentication`, and a gateway at `GET
 * /ipfs/{cid}`. It checks the JWT or the key pair, answers 429 with Retry-After or
 * hangs a connection when told to, and counts what it pinned.
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

export interface MockPin {
  cid: string;
  name: string;
  bytes: Uint8Array;
  pinnedAt: Date;
}

export interface PinataMockOptions {
  jwt?: string;
  apiKey?: string;
  apiSecret?: string;
}

export class PinataMock {
  /** Pins by CID (v1 base32 normal form); a second upload of the same file adds none. */
  readonly pins = new Map<string, MockPin>();
  /** Every pinFileToIPFS request received, answered or not. */
  pinRequests = 0;
  pinListRequests = 0;
  /** Arrival times (ms since 1970) of pinFileToIPFS requests. */
  readonly pinRequestTimes: number[] = [];
  /** Uploads pinned, by CID (v1 base32): a second upload of the same file counts too. */
  readonly uploads = new Map<string, number>();
  private beforeAnswer: ((pin: MockPin) => Promise<void>) | undefined;
  private tooMany: { count: number; retryAfter: string | undefined } = {
    count: 0,
    retryAfter: undefined,
  };
  private hang = { count: 0, pinAnyway: false };
  private wrongCid = 0;

  private constructor(
    private readonly server: MockHttpServer,
    private readonly options: PinataMockOptions,
  ) {}

  static async start(options: PinataMockOptions): Promise<PinataMock> {
    const box: { mock?: PinataMock } = {};
    const server = await startHttpServer((req, res, body) =>
      box.mock!.handle(req, res, body),
    );
    box.mock = new PinataMock(server, options);
    return box.mock;
  }

  get url(): URL {
    return this.server.url;
  }

  /** The next `count` pin requests get 429, with `retryAfter` as the header when given. */
  answerTooManyRequests(count: number, retryAfter?: string): void {
    this.tooMany = { count, retryAfter };
  }

  /**
   * The next `count` pin requests get no answer at all; with `pinAnyway` the file is
   * pinned all the same, as when an answer is lost on the way back.
   */
  hangPins(count: number, pinAnyway: boolean): void {
    this.hang = { count, pinAnyway };
  }

  /**
   * Runs `fn` once, when the next upload has been pinned and before it is answered:
   * what a client does then (or fails to do) happens with the pin already made.
   */
  onNextPin(fn: (pin: MockPin) => Promise<void>): void {
    this.beforeAnswer = fn;
  }

  /** The next `count` pin answers carry a CID of other content. */
  answerWrongCid(count: number): void {
    this.wrongCid = count;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private async handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
  ) {
    const url = new URL(req.url ?? '/', this.server.url);
    if (req.method === 'GET' && url.pathname.startsWith('/ipfs/')) {
      return this.gateway(url.pathname.slice('/ipfs/'.length), res);
    }
    if (!this.authorized(req)) {
      return sendJson(res, 401, { error: { reason: 'INVALID_CREDENTIALS' } });
    }
    if (req.method === 'POST' && url.pathname === '/pinning/pinFileToIPFS') {
      return this.pinFile(req, res, body);
    }
    if (req.method === 'GET' && url.pathname === '/data/pinList') {
      return this.pinList(url, res);
    }
    if (req.method === 'GET' && url.pathname === '/data/testAuthentication') {
      return sendJson(res, 200, { message: 'authenticated' });
    }
    sendJson(res, 404, { error: { reason: 'NOT_FOUND', details: url.pathname } });
  }

  private authorized(req: http.IncomingMessage): boolean {
    const { jwt, apiKey, apiSecret } = this.options;
    if (jwt !== undefined && req.headers.authorization === `Bearer ${jwt}`) return true;
    return (
      apiKey !== undefined &&
      req.headers.pinata_api_key === apiKey &&
      req.headers.pinata_secret_api_key === apiSecret
    );
  }

  private async pinFile(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
  ) {
    this.pinRequests += 1;
    this.pinRequestTimes.push(Date.now());
    if (this.tooMany.count > 0) {
      this.tooMany.count -= 1;
      const headers: Record<string, string> = {};
      if (this.tooMany.retryAfter !== undefined)
        headers['retry-after'] = this.tooMany.retryAfter;
      return sendJson(res, 429, { error: { reason: 'RATE_LIMITED' } }, headers);
    }
    const form = await formDataOf(req, body);
    const file = form.get('file');
    if (!(file instanceof Blob)) {
      return sendJson(res, 400, { error: { reason: 'NO_FILE' } });
    }
    const options = JSON.parse(textPart(form, 'pinataOptions')) as {
      cidVersion?: 0 | 1;
    };
    const meta = JSON.parse(textPart(form, 'pinataMetadata')) as {
      name?: string;
    };
    const bytes = new Uint8Array(await file.arrayBuffer());
    const cid = await kuboCid(bytes, options.cidVersion === 1 ? 1 : 0);
    const key = CID.parse(cid).toV1().toString();
    const isDuplicate = this.pins.has(key);
    const hanging = this.hang.count > 0;
    if (hanging) this.hang.count -= 1;
    if (!hanging || this.hang.pinAnyway) {
      if (!isDuplicate)
        this.pins.set(key, { cid, name: meta.name ?? '', bytes, pinnedAt: new Date() });
      this.uploads.set(key, (this.uploads.get(key) ?? 0) + 1);
    }
    if (hanging) return; // the connection stays open until the client gives up
    const hook = this.beforeAnswer;
    this.beforeAnswer = undefined;
    if (hook) await hook(this.pins.get(key)!);
    const answered =
      this.wrongCid > 0 ? await kuboCid(Uint8Array.of(...bytes, 0x0a), 1) : cid;
    if (this.wrongCid > 0) this.wrongCid -= 1;
    sendJson(res, 200, {
      IpfsHash: answered,
      PinSize: bytes.length,
      Timestamp: new Date().toISOString(),
      isDuplicate,
    });
  }

  private pinList(url: URL, res: http.ServerResponse): void {
    this.pinListRequests += 1;
    const contains = url.searchParams.get('hashContains') ?? '';
    const status = url.searchParams.get('status') ?? 'all';
    const rows = [...this.pins.values()]
      .filter(
        (p) => p.cid.includes(contains) && (status === 'all' || status === 'pinned'),
      )
      .map((p, i) => ({
        id: `pin-${i}`,
        ipfs_pin_hash: p.cid,
        size: p.bytes.length,
        user_id: 'user-1',
        date_pinned: p.pinnedAt.toISOString(),
        date_unpinned: null,
        metadata: { name: p.name, keyvalues: null },
        regions: [],
      }));
    sendJson(res, 200, { count: rows.length, rows });
  }

  private gateway(cid: string, res: http.ServerResponse): void {
    let key: string;
    try {
      key = CID.parse(cid).toV1().toString();
    } catch {
      return sendJson(res, 400, { error: 'invalid CID' });
    }
    const pin = this.pins.get(key);
    if (!pin) return sendJson(res, 404, { error: 'not found' });
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(pin.bytes);
  }
}

/** A text part of a form, or `{}` when it is missing. */
function textPart(form: FormData, name: string): string {
  const part = form.get(name);
  return typeof part === 'string' ? part : '{}';
}
