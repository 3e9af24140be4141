/**
 * A Guardian API on 127.0.0.1: `POST /api/v1/accounts/login`, `POST
 * /api/v1/accounts/access-token` and `POST /api/v1/policies/{id}/tag/{tag}/blocks`
 * with bearer tokens. It can fail the next block calls with a status, expire the
 * tokens it gave, and keeps the documents it received.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { type MockHttpServer, sendJson, startHttpServer } from './httpServer.js';

export interface GuardianMockOptions {
  username: string;
  password: string;
  policyId: string;
  blockTag: string;
}

export class GuardianMock {
  /** Documents received by the block, in order. */
  readonly documents: unknown[] = [];
  logins = 0;
  blockRequests = 0;
  private readonly refreshTokens = new Set<string>();
  private readonly accessTokens = new Set<string>();
  private failures: number[] = [];

  private constructor(
    private readonly server: MockHttpServer,
    private readonly options: GuardianMockOptions,
  ) {}

  static async start(options: GuardianMockOptions): Promise<GuardianMock> {
    const box: { mock?: GuardianMock } = {};
    const server = await startHttpServer((req, res, body) =>
      box.mock!.handle(req, res, body),
    );
    box.mock = new GuardianMock(server, options);
    return box.mock;
  }

  /** The API base, as GUARDIAN_API_URL takes it. */
  get apiUrl(): URL {
    return new URL('/api/v1', this.server.url);
  }

  /** The next block calls answer these HTTP statuses, one each. */
  failNext(...statuses: number[]): void {
    this.failures.push(...statuses);
  }

  /** Every access token given so far stops working (401). */
  expireTokens(): void {
    this.accessTokens.clear();
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): void {
    const path = new URL(req.url ?? '/', this.server.url).pathname;
    const body = (raw.length > 0 ? JSON.parse(raw.toString('utf8')) : {}) as Record<
      string,
      unknown
    >;
    if (req.method !== 'POST')
      return sendJson(res, 405, { message: 'method not allowed' });
    if (path === '/api/v1/accounts/login') return this.login(body, res);
    if (path === '/api/v1/accounts/access-token') return this.access(body, res);
    const { policyId, blockTag } = this.options;
    if (path === `/api/v1/policies/${policyId}/tag/${blockTag}/blocks`) {
      return this.block(req, body, res);
    }
    sendJson(res, 404, { statusCode: 404, message: `no route ${path}` });
  }

  private login(body: Record<string, unknown>, res: http.ServerResponse): void {
    this.logins += 1;
    if (
      body.username !== this.options.username ||
      body.password !== this.options.password
    ) {
      return sendJson(res, 401, { statusCode: 401, message: 'Unauthorized' });
    }
    const refreshToken = randomBytes(12).toString('hex');
    this.refreshTokens.add(refreshToken);
    sendJson(res, 200, { username: body.username, role: 'USER', refreshToken });
  }

  private access(body: Record<string, unknown>, res: http.ServerResponse): void {
    if (
      typeof body.refreshToken !== 'string' ||
      !this.refreshTokens.has(body.refreshToken)
    ) {
      return sendJson(res, 401, { statusCode: 401, message: 'Unauthorized' });
    }
    const accessToken = randomBytes(12).toString('hex');
    this.accessTokens.add(accessToken);
    sendJson(res, 201, { accessToken });
  }

  private block(
    req: http.IncomingMessage,
    body: Record<string, unknown>,
    res: http.ServerResponse,
  ): void {
    this.blockRequests += 1;
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!this.accessTokens.has(token)) {
      return sendJson(res, 401, { statusCode: 401, message: 'Unauthorized' });
    }
    const failure = this.failures.shift();
    if (failure !== undefined)
      return sendJson(res, failure, { statusCode: failure, message: 'failed' });
    if (!body.document || typeof body.document !== 'object') {
      return sendJson(res, 422, { statusCode: 422, message: 'document is required' });
    }
    this.documents.push(body.document);
    sendJson(res, 200, {});
  }
}
