/**
 * Hedera Guardian, optional: each anchored batch is also filed with a policy block
 * as a document that names the manifest CID, the Merkle root and the HCS message.
 *
 * Login is `POST accounts/login` (refresh token) then `POST accounts/access-token`
 * (access token); the document goes to `POST policies/{policy}/tag/{tag}/blocks`. An
 * expired token (401) logs in again once; a 5xx, a refused connection or a timeout
 * is retried with backoff. Guardian has no idempotency key, so a retry after a
 * timeout may file the document twice; the batch id in it tells the two apart.
 */
import type { HealthEntry } from '../health.js';
import type { Logger } from '../log.js';
import type { GuardianConfig } from './guardianConfig.js';
import { HttpCallError, httpCall, jsonOf, sleep } from './httpCall.js';

/** What is filed for one anchored batch; the policy's schema needs these fields. */
export interface GuardianAnchorDocument {
  batchId: string;
  scheme: string;
  cid: string;
  /** Hex Merkle root of the batch. */
  merkleRoot: string;
  readingCount: number;
  hcsTopicId: string;
  hcsSequenceNumber: number;
  /** ISO 8601 with nanoseconds. */
  hcsConsensusTime: string;
  hcsTransactionId: string;
}

/** A 4xx at login means the credentials are wrong: no retry can help. */
function refusedLogin(err: unknown): never {
  if (
    err instanceof HttpCallError &&
    err.status !== undefined &&
    err.status < 500 &&
    err.status !== 429
  ) {
    throw new GuardianError(
      `Guardian refused the login of GUARDIAN_USERNAME (HTTP ${err.status}); check GUARDIAN_USERNAME, GUARDIAN_PASSWORD and GUARDIAN_TENANT_ID`,
      false,
    );
  }
  throw err;
}

/** A document could not be filed; `retryable` says whether trying later may help. */
export class GuardianError extends Error {
  override readonly name = 'GuardianError';

  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

const BACKOFF_MS = 500;

export class GuardianClient {
  private accessToken?: string;
  private readonly base: URL;

  constructor(
    private readonly config: GuardianConfig,
    private readonly log: Logger,
  ) {
    const u = config.apiUrl;
    this.base = u.pathname.endsWith('/') ? u : new URL(`${u.href}/`);
  }

  /** Files `doc` with the policy block; throws GuardianError once the attempts are spent. */
  async send(doc: GuardianAnchorDocument): Promise<void> {
    const path = `policies/${encodeURIComponent(this.config.policyId)}/tag/${encodeURIComponent(this.config.blockTag)}/blocks`;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.post(path, { document: doc, ref: null }, await this.token());
        this.log.info({ batchId: doc.batchId, attempt }, 'anchor filed with Guardian');
        return;
      } catch (err) {
        if (err instanceof GuardianError) throw err;
        const verdict = this.verdict(err);
        if (verdict === 'login') this.accessToken = undefined;
        if (verdict === 'give-up' || attempt >= this.config.maxAttempts) {
          throw new GuardianError(
            `Guardian did not take the document of batch ${doc.batchId}: ${(err as Error).message}`,
            verdict !== 'give-up',
          );
        }
        this.log.warn(
          { batchId: doc.batchId, attempt, err: (err as Error).message },
          'Guardian retried',
        );
        if (verdict === 'backoff') await sleep(BACKOFF_MS * 2 ** (attempt - 1));
      }
    }
  }

  async health(): Promise<HealthEntry> {
    try {
      await this.token();
      return { status: 'ok', guardian: this.base.origin };
    } catch (err) {
      return { status: 'failing', detail: (err as Error).message };
    }
  }

  /** `login`: the token expired; `backoff`: the server or the way to it failed. */
  private verdict(err: unknown): 'login' | 'backoff' | 'give-up' {
    if (!(err instanceof HttpCallError)) return 'give-up';
    if (err.status === 401) return 'login';
    if (err.failure !== 'status' || (err.status ?? 0) >= 500 || err.status === 429) {
      return 'backoff';
    }
    return 'give-up';
  }

  private async token(): Promise<string> {
    if (this.accessToken) return this.accessToken;
    const login: Record<string, string> = {
      username: this.config.username,
      password: this.config.password,
    };
    if (this.config.tenantId) login.tenantId = this.config.tenantId;
    const session = (await this.post('accounts/login', login).catch(refusedLogin)) as {
      refreshToken?: unknown;
    };
    if (typeof session.refreshToken !== 'string') {
      throw new Error('Guardian login answered without a refreshToken');
    }
    const access = (await this.post('accounts/access-token', {
      refreshToken: session.refreshToken,
    })) as { accessToken?: unknown };
    if (typeof access.accessToken !== 'string') {
      throw new Error('Guardian access-token answered without an accessToken');
    }
    this.accessToken = access.accessToken;
    return access.accessToken;
  }

  private async post(path: string, body: unknown, token?: string): Promise<unknown> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const answer = await httpCall({
      method: 'POST',
      url: new URL(path, this.base),
      headers,
      body: JSON.stringify(body),
      timeoutMs: this.config.timeoutMs,
      what: `Guardian ${path.split('/')[0]}`,
    });
    return answer.body.length === 0 ? {} : jsonOf(answer, `Guardian ${path}`);
  }
}
