/**
 * A self-hosted IPFS node (Kubo or one speaking its HTTP RPC API) as the IPFS backend:
 * `/api/v0/add` with CID version 1, raw leaves and 256 KiB chunks (the settings that
 * give the CID computed here), `/api/v0/pin/ls` and `/api/v0/cat`. Every RPC call is
 * a POST, as the API asks.
 */
import type { HealthEntry } from '../health.js';
import type { Logger } from '../log.js';
import { ConfigError } from '../config/ConfigError.js';
import { type Env, int, url } from '../config/env.js';
import type { IpfsBackend } from './backends.js';
import { CidMismatchError, cidOf, holdsCid, normalCid, sameCid } from './cid.js';
import { HttpCallError, httpCall, jsonOf } from './httpCall.js';

export interface IpfsNodeConfig {
  /** `IPFS_API_URL`, e.g. `http://127.0.0.1:5001`; user and password become basic auth. */
  apiUrl: URL;
  /** `IPFS_TIMEOUT_MS`: milliseconds one call may take, default 30000. */
  timeoutMs: number;
  /** `IPFS_MAX_ATTEMPTS`: tries of one pin, default 3. */
  maxAttempts: number;
}

/** The node's settings, or undefined when IPFS_API_URL is not set. */
export function readIpfsNodeConfig(env: Env): IpfsNodeConfig | undefined {
  const apiUrl = url(env, 'IPFS_API_URL', ['http:', 'https:']);
  if (!apiUrl) return undefined;
  if (apiUrl.search !== '' || apiUrl.hash !== '') {
    throw new ConfigError(
      'IPFS_API_URL',
      'a URL without query or fragment',
      apiUrl.origin,
    );
  }
  return {
    apiUrl,
    timeoutMs: int(env, 'IPFS_TIMEOUT_MS', 30_000, { min: 100, max: 600_000 }),
    maxAttempts: int(env, 'IPFS_MAX_ATTEMPTS', 3, { min: 1, max: 20 }),
  };
}

export class IpfsNode implements IpfsBackend {
  readonly name = 'ipfs-node';
  private readonly base: URL;
  private readonly headers: Record<string, string> = {};

  constructor(
    private readonly config: IpfsNodeConfig,
    private readonly log: Logger,
  ) {
    const base = new URL(config.apiUrl.href);
    if (base.username !== '') {
      const user = decodeURIComponent(base.username);
      const pass = decodeURIComponent(base.password);
      this.headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
      base.username = '';
      base.password = '';
    }
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.base = base;
  }

  async pin(bytes: Uint8Array, name: string): Promise<string> {
    const cid = await cidOf(bytes);
    for (let attempt = 1; ; attempt++) {
      try {
        const answered = await this.add(bytes, name);
        if (!sameCid(answered, cid))
          throw new CidMismatchError('The IPFS node', cid, answered);
        return cid;
      } catch (err) {
        if (!(err instanceof HttpCallError) || attempt >= this.config.maxAttempts)
          throw err;
        if (err.failure === 'status' && (err.status ?? 0) < 500) throw err;
        if (err.failure === 'timeout' && (await this.isPinned(cid))) return cid;
        this.log.warn({ cid, attempt, err: err.message }, 'IPFS node add retried');
      }
    }
  }

  async isPinned(cid: string): Promise<boolean> {
    try {
      const answer = await this.rpc('pin/ls', { arg: normalCid(cid), type: 'recursive' });
      const keys = (jsonOf(answer, 'IPFS pin/ls') as { Keys?: Record<string, unknown> })
        .Keys;
      return Object.keys(keys ?? {}).some((k) => sameCid(k, cid));
    } catch (err) {
      // Kubo answers 500 "… is not pinned" for a CID it does not pin.
      if (err instanceof HttpCallError && /not pinned/i.test(err.message)) return false;
      throw err;
    }
  }

  async fetch(cid: string): Promise<Uint8Array> {
    const answer = await this.rpc('cat', { arg: normalCid(cid) });
    if (!(await holdsCid(answer.body, cid))) {
      throw new Error(`the IPFS node answered bytes for ${cid} that are not that CID`);
    }
    return answer.body;
  }

  async health(): Promise<HealthEntry> {
    try {
      const answer = await this.rpc('version', {}, 1_500);
      const version = (jsonOf(answer, 'IPFS version') as { Version?: unknown }).Version;
      return { status: 'ok', backend: 'ipfs-node', version: String(version) };
    } catch (err) {
      return { status: 'failing', backend: 'ipfs-node', detail: (err as Error).message };
    }
  }

  private async add(bytes: Uint8Array, name: string): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([Uint8Array.from(bytes)]), name);
    const answer = await this.rpc(
      'add',
      {
        'cid-version': '1',
        'raw-leaves': 'true',
        chunker: 'size-262144',
        hash: 'sha2-256',
        pin: 'true',
      },
      this.config.timeoutMs,
      form,
    );
    // One JSON object a line; the file's own entry is the last.
    const lines = new TextDecoder().decode(answer.body).trim().split('\n');
    const last = JSON.parse(lines.at(-1) ?? '{}') as { Hash?: unknown };
    if (typeof last.Hash !== 'string') throw new Error('IPFS add answered no Hash');
    return last.Hash;
  }

  private rpc(
    command: string,
    params: Record<string, string>,
    timeoutMs = this.config.timeoutMs,
    body?: FormData,
  ) {
    const target = new URL(`api/v0/${command}`, this.base);
    for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
    return httpCall({
      method: 'POST',
      url: target,
      headers: this.headers,
      body,
      timeoutMs,
      what: `IPFS ${command}`,
    });
  }
}
