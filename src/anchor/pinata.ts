/**
 * Pinata as the IPFS backend, through its pinning API.
 *
 * A pin computes the CID locally first, keeps a copy of the bytes on disk, then sends
 * the file to `POST /pinning/pinFileToIPFS` asking for CID version 1 and refuses an
 * answer whose CID differs from ours. Calls are spaced below the plan's rate limit; a
 * 429 holds every call back for its Retry-After; every call has a deadline. A call
 * that timed out may still have pinned the file, so before sending it again the pin
 * list is asked (`GET /data/pinList?hashContains=…&status=pinned`).
 */
import type { Logger } from '../log.js';
import type { HealthEntry } from '../health.js';
import type { IpfsBackend } from './backends.js';
import { CidMismatchError, cidOf, holdsCid, normalCid, sameCid } from './cid.js';
import { HttpCallError, httpCall, jsonOf, sleep } from './httpCall.js';
import type { PinataConfig } from './pinataConfig.js';
import { PinnedCopies } from './pinataCopies.js';
import { readThroughGateway } from './pinataGateway.js';
import { RateLimiter } from './pinataLimiter.js';

/** How long a health answer is reused: `/data/` calls are scarce (30 a minute). */
const HEALTH_REUSE_MS = 60_000;
/** Wait before retrying a 5xx or a refused connection, doubled each attempt. */
const BACKOFF_MS = 500;

export class PinataIpfs implements IpfsBackend {
  readonly name = 'pinata';
  private readonly limiter: RateLimiter;
  private readonly dataLimiter: RateLimiter;
  private readonly copies: PinnedCopies;
  private lastHealth?: { at: number; entry: HealthEntry };

  constructor(
    private readonly config: PinataConfig,
    private readonly log: Logger,
  ) {
    this.limiter = new RateLimiter(config.perMinute);
    this.dataLimiter = new RateLimiter(config.dataPerMinute);
    this.copies = new PinnedCopies(config.copiesDir);
  }

  async pin(bytes: Uint8Array, name: string): Promise<string> {
    const cid = await cidOf(bytes);
    await this.copies.put(cid, bytes);
    for (let attempt = 1; ; attempt++) {
      try {
        const answered = await this.pinFile(bytes, name);
        if (!sameCid(answered, cid)) throw new CidMismatchError('Pinata', cid, answered);
        this.log.debug({ cid, name, attempt }, 'pinned to Pinata');
        return cid;
      } catch (err) {
        if (!(err instanceof HttpCallError) || attempt >= this.config.maxAttempts)
          throw err;
        if (err.failure === 'timeout') {
          // The upload may have landed; pinning again would only be safe by luck.
          if (await this.isPinned(cid)) return cid;
        } else {
          await this.waitBeforeRetry(err, attempt);
        }
        this.log.warn({ cid, attempt, err: err.message }, 'Pinata pin retried');
      }
    }
  }

  async isPinned(cid: string): Promise<boolean> {
    const url = this.endpoint('/data/pinList');
    url.searchParams.set('hashContains', normalCid(cid));
    url.searchParams.set('status', 'pinned');
    await this.dataLimiter.take();
    const answer = await httpCall({
      method: 'GET',
      url,
      headers: this.authHeaders(),
      timeoutMs: this.config.timeoutMs,
      what: 'Pinata pinList',
    });
    const rows = (jsonOf(answer, 'Pinata pinList') as { rows?: unknown }).rows;
    if (!Array.isArray(rows)) throw new Error('Pinata pinList answered without rows');
    return rows.some((row: { ipfs_pin_hash?: unknown }) => {
      return typeof row.ipfs_pin_hash === 'string' && sameCid(row.ipfs_pin_hash, cid);
    });
  }

  async fetch(cid: string): Promise<Uint8Array> {
    const copy = await this.copies.get(cid);
    if (copy && (await holdsCid(copy, cid))) return copy;
    const gateway = this.config.gatewayUrl;
    if (!gateway) {
      throw new Error(
        `no local copy of ${cid} in ${this.copies.dir} and PINATA_GATEWAY_URL is not ` +
          'set; set it to a gateway (e.g. your dedicated Pinata gateway) to read it',
      );
    }
    return readThroughGateway(
      gateway,
      cid,
      this.config.timeoutMs,
      this.config.gatewayToken,
    );
  }

  async health(): Promise<HealthEntry> {
    const last = this.lastHealth;
    if (last && Date.now() - last.at < HEALTH_REUSE_MS) return last.entry;
    let entry: HealthEntry;
    try {
      // Not through the limiter: a health check must not wait behind a 429 pause, and
      // once a minute stays well inside the `/data/` allowance next to the pin list.
      await httpCall({
        method: 'GET',
        url: this.endpoint('/data/testAuthentication'),
        headers: this.authHeaders(),
        timeoutMs: Math.min(this.config.timeoutMs, 1_500),
        what: 'Pinata testAuthentication',
      });
      entry = { status: 'ok', backend: 'pinata' };
    } catch (err) {
      entry = { status: 'failing', backend: 'pinata', detail: (err as Error).message };
    }
    this.lastHealth = { at: Date.now(), entry };
    return entry;
  }

  private async pinFile(bytes: Uint8Array, name: string): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([Uint8Array.from(bytes)]), name);
    form.append('pinataMetadata', JSON.stringify({ name }));
    form.append('pinataOptions', JSON.stringify({ cidVersion: 1 }));
    await this.limiter.take();
    const answer = await httpCall({
      method: 'POST',
      url: this.endpoint('/pinning/pinFileToIPFS'),
      headers: this.authHeaders(),
      body: form,
      timeoutMs: this.config.timeoutMs,
      what: 'Pinata pinFileToIPFS',
    });
    const hash = (jsonOf(answer, 'Pinata pinFileToIPFS') as { IpfsHash?: unknown })
      .IpfsHash;
    if (typeof hash !== 'string')
      throw new Error('Pinata pinFileToIPFS answered no IpfsHash');
    return hash;
  }

  /** 429: wait what the server asked; 5xx and network: back off; others: give up. */
  private async waitBeforeRetry(err: HttpCallError, attempt: number): Promise<void> {
    if (err.status === 429) {
      const wait = err.retryAfterMs ?? BACKOFF_MS * 2 ** attempt;
      if (wait > this.config.maxRetryAfterMs) throw err;
      this.limiter.pause(wait);
      this.dataLimiter.pause(wait);
      this.log.warn({ waitMs: wait }, 'Pinata asked us to slow down (429)');
      return;
    }
    const retryable = err.failure === 'network' || (err.status ?? 0) >= 500;
    if (!retryable) throw err;
    await sleep(BACKOFF_MS * 2 ** (attempt - 1));
  }

  private authHeaders(): Record<string, string> {
    const auth = this.config.auth;
    if ('jwt' in auth) return { authorization: `Bearer ${auth.jwt}` };
    return { pinata_api_key: auth.apiKey, pinata_secret_api_key: auth.apiSecret };
  }

  private endpoint(path: string): URL {
    return new URL(path.slice(1), withSlash(this.config.apiUrl));
  }
}

/** The URL with a trailing slash, so relative paths append to its path. */
function withSlash(u: URL): URL {
  return u.pathname.endsWith('/') ? u : new URL(`${u.href}/`);
}
