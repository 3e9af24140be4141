import { createECDH, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import {
  startWebhookReceiver,
  type MockWebhookReceiver,
} from './mocks/webhookReceiver.js';
import { post as postJson, waitUntil } from './notify.fixtures.js';

describe('recipients API', () => {
  let db: TestDatabase;
  let app: TestApp;
  let hooks: MockWebhookReceiver;
  let api: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    hooks = await startWebhookReceiver();
    app = await startTestApp({ databaseUrl: db.url, env: { NOTIFY_POLL_MS: '50' } });
    api = `${app.baseUrl}/api/v1`;
  });

  afterAll(async () => {
    await app?.close();
    await hooks?.close();
    await db?.drop();
  });

  const post = (url: string, body: unknown, method = 'POST') =>
    postJson(url, body, method, app.token);
  const get = async (path: string) => {
    const res = await app.api(`/api/v1${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('creates a recipient with a webhook, shows the generated secret once, and lists it', async () => {
    const res = await post(`${api}/recipients`, {
      name: 'Pharmacy desk',
      scope: 'profile',
      scope_value: 'vaccine_fridge',
      min_severity: 'critical',
      alarm_kinds: ['excursion_high', 'excursion_immediate'],
      channels: [{ kind: 'webhook', url: hooks.url.toString() }],
    });
    expect(res.status).toBe(201);
    const channel = (res.body.channels as Array<Record<string, unknown>>)[0]!;
    expect(channel.secret).toMatch(/^[\w-]{43}$/);
    expect(res.body).toMatchObject({
      name: 'Pharmacy desk',
      scope: 'profile',
      scope_value: 'vaccine_fridge',
      level: 0,
      min_severity: 'critical',
      notify_on: ['raised', 'cleared'],
      enabled: true,
    });
    const shown = await get(`/recipients/${String(res.body.id)}`);
    expect(shown.status).toBe(200);
    expect((shown.body.channels as Array<Record<string, unknown>>)[0]).not.toHaveProperty(
      'secret',
    );
    const list = await get('/recipients');
    expect((list.body.recipients as unknown[]).length).toBeGreaterThanOrEqual(1);
  });

  it.each([
    [{}, /name is required/],
    [{ name: 'A', scope: 'site' }, /scope_value must name the site/],
    [{ name: 'A', scope: 'all', scope_value: 'x' }, /scope_value must be null/],
    [{ name: 'A', level: 10 }, /level must be a whole number from 0 to 9/],
    [{ name: 'A', colour: 'red' }, /Unknown field "colour"/],
    [{ name: 'A', alarm_kinds: ['too_warm'] }, /each of alarm_kinds must be one of/],
    [
      { name: 'A', channels: [{ kind: 'fax', to: '1' }] },
      /channels\[0\]\.kind must be one of/,
    ],
    [{ name: 'A', channels: [{ kind: 'sms', to: '0791234567' }] }, /E\.164/],
    [{ name: 'A', channels: [{ kind: 'email', to: 'nurse@' }] }, /e-mail address/],
    [
      { name: 'A', channels: [{ kind: 'webhook', url: 'http://10.1.2.3/hook' }] },
      /must use https/,
    ],
    [
      { name: 'A', channels: [{ kind: 'webhook', url: 'https://u:p@h.example/' }] },
      /user name or password/,
    ],
    [
      {
        name: 'A',
        channels: [{ kind: 'webhook', url: 'https://h.example/', secret: 'short' }],
      },
      /32 to 256/,
    ],
  ])('refuses %j with a 400 that says what is wrong', async (body, message) => {
    const res = await post(`${api}/recipients`, body);
    expect(res.status).toBe(400);
    const error = res.body.error as { code: string; message: string };
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(message);
  });

  it('refuses push keys that are not a P-256 point or not 16 bytes', async () => {
    const endpoint = 'https://push.example/send/abc';
    const p256dh = createECDH('prime256v1');
    p256dh.generateKeys();
    const bad = Buffer.alloc(65, 7);
    bad[0] = 4;
    for (const [keys, message] of [
      [
        {
          p256dh: bad.toString('base64url'),
          auth: randomBytes(16).toString('base64url'),
        },
        /not a point/,
      ],
      [
        { p256dh: p256dh.getPublicKey().toString('base64url'), auth: 'AAAA' },
        /keys.auth must be 16 bytes/,
      ],
    ] as const) {
      const res = await post(`${api}/recipients`, {
        name: 'Tablet',
        channels: [{ kind: 'push', subscription: { endpoint, keys } }],
      });
      expect(res.status).toBe(400);
      expect((res.body.error as { message: string }).message).toMatch(message);
    }
  });

  it('answers 409 for a channel this server is not configured to send', async () => {
    const res = await post(`${api}/recipients`, {
      name: 'On call',
      channels: [{ kind: 'sms', to: '+41791234567' }],
    });
    expect(res.status).toBe(409);
    const error = res.body.error as { code: string; message: string };
    expect(error.code).toBe('CHANNEL_NOT_CONFIGURED');
    expect(error.message).toMatch(/SMS_API_URL/);
    const key = await get('/push/vapid-public-key');
    expect(key.status).toBe(409);
  });

  it('changes, adds channels to, and removes a recipient', async () => {
    const created = await post(`${api}/recipients`, { name: 'Cold room 2 team' });
    const id = String(created.body.id);
    const changed = await post(
      `${api}/recipients/${id}`,
      { level: 1, scope: 'device', scope_value: 'cold-room-2' },
      'PATCH',
    );
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      level: 1,
      scope: 'device',
      scope_value: 'cold-room-2',
    });

    const hook = { kind: 'webhook', url: hooks.url.toString(), secret: 's'.repeat(32) };
    const added = await post(`${api}/recipients/${id}/channels`, hook);
    expect(added.status).toBe(201);
    expect(
      (await post(`${api}/recipients/${id}/channels`, hook)).body.error,
    ).toMatchObject({ code: 'CHANNEL_EXISTS' });

    const channelId = String(added.body.id);
    const gone = await app.api(`/api/v1/recipients/${id}/channels/${channelId}`, {
      method: 'DELETE',
    });
    expect(gone.status).toBe(204);
    expect(
      (
        await app.api(`/api/v1/recipients/${id}/channels/${channelId}`, {
          method: 'DELETE',
        })
      ).status,
    ).toBe(404);

    expect((await app.api(`/api/v1/recipients/${id}`, { method: 'DELETE' })).status).toBe(
      204,
    );
    const after = await get(`/recipients/${id}`);
    expect(after.status).toBe(404);
    expect(after.body.error).toMatchObject({ code: 'RECIPIENT_NOT_FOUND' });
    expect((await get('/recipients/abc')).status).toBe(400);
  });

  it('sends a test notice on request and shows the delivery with its attempts', async () => {
    const created = await post(`${api}/recipients`, {
      name: 'Integration',
      channels: [{ kind: 'webhook', url: hooks.url.toString() }],
    });
    const id = String(created.body.id);
    hooks.setSecret(
      String((created.body.channels as Array<{ secret: string }>)[0]!.secret),
    );
    const res = await post(`${api}/recipients/${id}/test`, {});
    expect(res).toEqual({ status: 202, body: { queued: 1, coalesced: 0 } });
    const hook = await waitUntil(() =>
      hooks.received.find((h) => h.event === 'alarm.test'),
    );
    expect(hook.body).toMatchObject({
      event: 'test',
      recipient: { id, name: 'Integration' },
    });

    const list = await waitFor(async () => {
      const l = await get(`/recipients/${id}/deliveries`);
      const d = (l.body.deliveries as Array<{ id: string; status: string }>)[0];
      return d?.status === 'sent' ? d : undefined;
    });
    const one = await get(`/deliveries/${list.id}`);
    expect(one.body).toMatchObject({
      kind: 'webhook',
      event: 'test',
      status: 'sent',
      attempts: 1,
    });
    expect(one.body.attempt_log).toEqual([
      expect.objectContaining({
        attempt: 1,
        outcome: 'sent',
        response_code: 204,
        error: null,
      }),
    ]);
    expect((await get('/deliveries?status=sideways')).status).toBe(400);
    expect((await get('/deliveries/999999')).body.error).toMatchObject({
      code: 'DELIVERY_NOT_FOUND',
    });
  });
});
