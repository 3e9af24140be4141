import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startApp, type App, type Roles } from '../../src/app.js';
import { readConfig } from '../../src/config/config.js';
import { createLogger, type Logger } from '../../src/log.js';
import { actorOf } from '../../src/auth/principal.js';
import { createToken } from '../../src/auth/tokenStore.js';

export interface TestApp extends App {
  /** Base URL of its HTTP server, on a port chosen by the system. */
  baseUrl: string;
  clientId: string;
  /** An admin token made at start, for the API. */
  token: string;
  /** The actor recorded for changes made with `token`, e.g. `test-admin (token 1)`. */
  actor: string;
  /** `fetch` of `baseUrl + path` with `Authorization: Bearer <token>` added. */
  api(path: string, init?: RequestInit): Promise<Response>;
}

/** The whole server in this process, against the given database and broker. */
export async function startTestApp(opts: {
  databaseUrl: URL;
  mqttUrl?: string;
  roles?: Roles;
  env?: Record<string, string>;
  /** The logger the app writes to; default one at TEST_LOG_LEVEL (silent). */
  log?: Logger;
}): Promise<TestApp> {
  const clientId = `heru-test-${randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = {
    DATABASE_URL: opts.databaseUrl.toString(),
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    MQTT_CLIENT_ID: clientId,
    HERU_DATA_DIR: join(tmpdir(), `heru-test-data-${clientId}`),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...(opts.mqttUrl ? { MQTT_URL: opts.mqttUrl } : {}),
    ...opts.env,
  };
  const config = readConfig(env);
  const roles = opts.roles ?? { ingest: opts.mqttUrl !== undefined, api: true };
  const app = await startApp(
    roles,
    config,
    env,
    opts.log ?? createLogger(config.logLevel),
  );
  const { port } = app.http.server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const { token, row } = await createToken(app.pool, {
    name: `test-admin-${clientId}`,
    role: 'admin',
    by: 'test',
  });
  const actor = actorOf({ tokenId: row.id, name: row.name, role: row.role });
  const api = (path: string, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetch(`${baseUrl}${path}`, { ...init, headers });
  };
  return Object.assign(app, { baseUrl, clientId, token, actor, api });
}

/** Polls `fn` until it returns a value other than undefined, or fails after `ms`. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined>,
  ms = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
