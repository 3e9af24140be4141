import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAlarmConfig } from '../src/alarms/config.js';
import { AlarmEngine } from '../src/alarms/engine.js';
import { AlarmNotifier } from '../src/alarms/notifier.js';
import { ROUTE_ROLES } from '../src/auth/routeRoles.js';
import { createToken, revokeToken } from '../src/auth/tokenStore.js';
import { Health } from '../src/health.js';
import { apiRoutesOf } from '../src/http/apiAuth.js';
import { buildServer } from '../src/http/server.js';
import { createLogger } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { Feed, series } from './helpers/feed.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const SECRETS = {
  SMTP_URL: 'smtp://alarms:smtp-pass-6d1f@127.0.0.1:2525',
  SMTP_FROM: 'alarms@example.org',
  SMS_API_URL: 'http://127.0.0.1:9',
  SMS_ACCOUNT_SID: 'AC0123456789',
  SMS_AUTH_TOKEN: 'sms-token-9c2e4b',
  SMS_FROM: '+15005550006',
  NOTIFY_ALLOW_HTTP: 'true',
};

let db: TestDatabase;
let app: TestApp;
let alarmId: string;

/** A request to the running server with the given token (none when undefined). */
async function call(
  path: string,
  token: string | undefined,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  const res = await fetch(`${app.baseUrl}${path}`, { ...init, headers });
  const text = await res.text();
  return {
    status: res.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: res.headers,
  };
}

async function tokenOf(name: string, role: 'viewer' | 'operator' | 'admin') {
  return (await createToken(app.pool, { name, role, by: 'test' })).token;
}

beforeAll(async () => {
  db = await createTestDatabase();
  app = await startTestApp({ databaseUrl: db.url, env: SECRETS });
  const notifier = new AlarmNotifier(createLogger('silent'));
  const engine = new AlarmEngine(
    app.pool,
    notifier,
    readAlarmConfig({}),
    createLogger('silent'),
  );
  engine.onStored(
    await new Feed(app.pool).store(
      'secret-fridge-1',
      series('2024-06-01T08:00:00Z', 10, Array<number>(8).fill(9)),
    ),
  );
  await engine.close();
  const { rows } = await app.pool.query<{ id: string }>(
    "select id from alarm where device_id = 'secret-fridge-1' order by id limit 1",
  );
  alarmId = rows[0]!.id;
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
});

describe('every /api/v1 route', () => {
  it('declares a role, and the server knows every one of them', () => {
    const routes = apiRoutesOf(app.http);
    expect(routes.length).toBeGreaterThan(40);
    for (const r of routes) expect(['viewer', 'operator', 'admin']).toContain(r.role);
    const declared = new Set(routes.map((r) => `${r.method} ${r.url}`));
    for (const key of Object.keys(ROUTE_ROLES)) expect(declared).toContain(key);
  });

  it('answers 401 in the catalog shape without a token, with a wrong one, and with a malformed header', async () => {
    const routes = apiRoutesOf(app.http);
    for (const r of routes) {
      const path = r.url.replace(/:[A-Za-z]+/g, '1');
      const init: RequestInit = { method: r.method };
      if (!['GET', 'HEAD', 'DELETE'].includes(r.method)) init.body = '{}';
      for (const token of [undefined, `heru_${'A'.repeat(43)}`]) {
        const res = await call(path, token, init);
        expect([r.method, r.url, res.status]).toEqual([r.method, r.url, 401]);
        // A HEAD answer has no body.
        if (r.method !== 'HEAD')
          expect(res.body.error).toMatchObject({ code: 'UNAUTHORIZED' });
      }
    }
    const basic = await call('/api/v1/devices', undefined, {
      headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
    });
    expect(basic.status).toBe(401);
  });

  it('cannot be added without a role: the server refuses to build', () => {
    const http = buildServer({
      pool: app.pool,
      log: createLogger('silent'),
      health: new Health(),
      metrics: createMetrics(),
      ready: () => true,
      api: true,
    });
    expect(() => http.get('/api/v1/secret-new-route', () => ({}))).toThrow(
      /no role: add it to ROUTE_ROLES/,
    );
    void http.close();
  });
});

describe('roles', () => {
  it('lets a viewer read but answers 403 to its acknowledgement of an alarm', async () => {
    const viewer = await tokenOf('ward-screen', 'viewer');
    expect((await call('/api/v1/alarms', viewer)).status).toBe(200);
    const ack = await call(`/api/v1/alarms/${alarmId}/ack`, viewer, {
      method: 'POST',
      body: JSON.stringify({ comment: 'seen' }),
    });
    expect(ack.status).toBe(403);
    expect(ack.body.error).toMatchObject({
      code: 'FORBIDDEN',
      message: 'This needs the operator role; token ward-screen has viewer.',
    });
  });

  it('lets an operator acknowledge, recording the token as who did it', async () => {
    const operator = await tokenOf('night-nurse', 'operator');
    const ack = await call(`/api/v1/alarms/${alarmId}/ack`, operator, {
      method: 'POST',
      body: JSON.stringify({ by: 'someone.else', comment: 'door closed' }),
    });
    expect(ack.status).toBe(200);
    expect(ack.body.acknowledged_by).toMatch(/^night-nurse \(token \d+\)$/);
    const detail = await call(`/api/v1/alarms/${alarmId}`, operator);
    const actions = detail.body.actions as Array<{ by: string; comment: string }>;
    expect(actions.at(-1)).toMatchObject({
      by: ack.body.acknowledged_by,
      comment: 'door closed (on behalf of someone.else)',
    });
    const { rows } = await app.pool.query<{ token_name: string; route: string }>(
      'select token_name, route, status from api_change order by id',
    );
    expect(rows).toContainEqual({
      token_name: 'night-nurse',
      route: '/api/v1/alarms/:id/ack',
      status: 200,
    });
  });

  it('keeps devices, profiles and tokens to admins', async () => {
    const operator = await tokenOf('desk-2', 'operator');
    const device = await call('/api/v1/devices', operator, {
      method: 'POST',
      body: JSON.stringify({ device_id: 'fridge-9' }),
    });
    expect(device.status).toBe(403);
    expect((await call('/api/v1/tokens', operator)).status).toBe(403);
    expect(
      (await call('/api/v1/mappings/x', operator, { method: 'DELETE' })).status,
    ).toBe(403);
    expect(
      (
        await call('/api/v1/devices', app.token, {
          method: 'POST',
          body: JSON.stringify({ device_id: 'fridge-9' }),
        })
      ).status,
    ).toBe(201);
  });
});

describe('tokens', () => {
  it('stop working at once when revoked, from the API or the store', async () => {
    const made = await call('/api/v1/tokens', app.token, {
      method: 'POST',
      body: JSON.stringify({ name: 'temp-viewer', role: 'viewer' }),
    });
    expect(made.status).toBe(201);
    const token = String(made.body.token);
    expect(token).toMatch(/^heru_[A-Za-z0-9_-]{43}$/);
    expect((await call('/api/v1/devices', token)).status).toBe(200);
    const listed = await call('/api/v1/tokens', app.token);
    expect(JSON.stringify(listed.body)).not.toContain(token);
    const revoked = await call(`/api/v1/tokens/${String(made.body.id)}`, app.token, {
      method: 'DELETE',
    });
    expect(revoked.status).toBe(204);
    expect((await call('/api/v1/devices', token)).status).toBe(401);

    const other = await tokenOf('temp-2', 'viewer');
    expect((await call('/api/v1/devices', other)).status).toBe(200);
    await revokeToken(app.pool, 'temp-2', 'test');
    expect((await call('/api/v1/devices', other)).status).toBe(401);
  });

  it('refuse a second live token of the same name and a body without name or role', async () => {
    await tokenOf('kiosk', 'viewer');
    const post = (body: object) =>
      call('/api/v1/tokens', app.token, { method: 'POST', body: JSON.stringify(body) });
    const twice = await post({ name: 'kiosk', role: 'viewer' });
    expect([twice.status, (twice.body.error as { code: string }).code]).toEqual([
      409,
      'TOKEN_EXISTS',
    ]);
    const bad = await post({ name: 'kiosk-2', role: 'root' });
    expect(bad.status).toBe(400);
    expect((bad.body.error as { message: string }).message).toContain('`role`');
  });

  it('are stored only as their SHA-256', async () => {
    const token = await tokenOf('hash-check', 'viewer');
    const { rows } = await app.pool.query<{ row: string }>(
      "select row_to_json(t)::text as row from api_token t where name = 'hash-check'",
    );
    expect(rows[0]!.row).not.toContain(token);
    expect(rows[0]!.row).not.toContain(token.slice(5));
  });
});

describe('rate limits', () => {
  it('answer 429 with Retry-After once a token spends its burst, per token', async () => {
    const http = buildServer({
      pool: app.pool,
      log: createLogger('silent'),
      health: new Health(),
      metrics: createMetrics(),
      ready: () => true,
      api: true,
      auth: { rateLimit: { perSecond: 1, burst: 3 } },
    });
    const busy = await tokenOf('busy-script', 'viewer');
    const calm = await tokenOf('calm-screen', 'viewer');
    const get = (t: string) =>
      http.inject({ url: '/api/v1/devices', headers: { authorization: `Bearer ${t}` } });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await get(busy)).statusCode);
    expect(codes).toEqual([200, 200, 200, 429]);
    const limited = await get(busy);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.json<{ error: { code: string } }>().error.code).toBe('RATE_LIMITED');
    expect((await get(calm)).statusCode).toBe(200);
    await http.close();
  });
});

describe('/health, /ready and /metrics', () => {
  it('answer without a token, say which credentials are set, and reveal no secret or device', async () => {
    const health = await call('/health', undefined);
    expect(health.body.checks).toMatchObject({
      credentials: {
        status: 'ok',
        configured: { sms: true, smtp: true, pinata: false, hedera: false },
      },
    });
    const ready = await call('/ready', undefined);
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    for (const text of [
      JSON.stringify(health.body),
      JSON.stringify(ready.body),
      metrics,
    ]) {
      expect(text).not.toContain('smtp-pass-6d1f');
      expect(text).not.toContain('sms-token-9c2e4b');
      expect(text).not.toContain('secret-fridge-1');
      expect(text).not.toContain('fridge-9');
      expect(text).not.toContain(app.token);
    }
  });
});
