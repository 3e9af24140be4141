import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmailChannel } from '../src/notify/channels/email.js';
import { generateVapidKeys } from '../src/notify/push/vapid.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { startPushService, type MockPushService } from './mocks/pushService.js';
import { startSmsProvider, type MockSmsProvider } from './mocks/smsProvider.js';
import { startSmtpServer, type MockSmtpServer } from './mocks/smtpServer.js';
import {
  startWebhookReceiver,
  type MockWebhookReceiver,
} from './mocks/webhookReceiver.js';
import {
  alarmEvent,
  createRecipient,
  settledDeliveries,
  type CreatedRecipient,
  waitUntil,
} from './notify.fixtures.js';

describe('each notification channel delivers to a local server speaking its protocol', () => {
  const vapid = generateVapidKeys();
  let db: TestDatabase;
  let app: TestApp;
  let push: MockPushService;
  let sms: MockSmsProvider;
  let smtp: MockSmtpServer;
  let hooks: MockWebhookReceiver;
  let nurse: CreatedRecipient;
  let endpoint: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    [push, sms, smtp, hooks] = await Promise.all([
      startPushService(),
      startSmsProvider(),
      startSmtpServer(),
      startWebhookReceiver(),
    ]);
    app = await startTestApp({
      databaseUrl: db.url,
      env: {
        VAPID_PUBLIC_KEY: vapid.publicKey,
        VAPID_PRIVATE_KEY: vapid.privateKey,
        VAPID_SUBJECT: 'mailto:ops@clinic.example',
        SMS_API_URL: sms.url.toString(),
        SMS_ACCOUNT_SID: sms.accountSid,
        SMS_AUTH_TOKEN: sms.authToken,
        SMS_FROM: '+15005550006',
        SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
        SMTP_FROM: 'alarms@clinic.example',
        SMTP_STARTTLS: 'off',
        NOTIFY_POLL_MS: '50',
        NOTIFY_RETRY_BASE_MS: '100',
        NOTIFY_RATE_LIMIT: '100',
        NOTIFY_PUBLIC_URL: 'https://heru.clinic.example/',
      },
    });
    const subscription = push.subscribe(vapid.publicKey);
    endpoint = subscription.endpoint;
    nurse = await createRecipient(app, {
      name: 'Night nurse',
      scope: 'site',
      scope_value: 'clinic-7',
      channels: [
        { kind: 'push', subscription },
        { kind: 'sms', to: '+41791234567' },
        { kind: 'email', to: 'nurse@clinic.example' },
        { kind: 'webhook', url: hooks.url.toString() },
      ],
    });
    hooks.setSecret(nurse.channels.find((c) => c.kind === 'webhook')!.secret!);
  });

  afterAll(async () => {
    await app?.close();
    await Promise.all([push?.close(), sms?.close(), smtp?.close(), hooks?.close()]);
    await db?.drop();
  });

  it('sends one raised alarm through all four channels of the site recipient', async () => {
    const event = alarmEvent();
    app.notify.onAlarmEvent(event);
    const rows = await settledDeliveries(app.pool, event.alarmId, 4);
    expect(rows.map((r) => [r.kind, r.status]).sort()).toEqual([
      ['email', 'sent'],
      ['push', 'sent'],
      ['sms', 'sent'],
      ['webhook', 'sent'],
    ]);
  });

  it('pushes a payload the subscription decrypts, with a VAPID token for the push origin', async () => {
    const event = alarmEvent({ summary: 'Fridge 3 at 13.1 °C since 11:02' });
    app.notify.onAlarmEvent(event);
    const got = await waitUntil(() =>
      push.received.find((p) => p.payload.alarm_id === event.alarmId),
    );
    expect(push.refused).toEqual([]);
    expect(got.endpoint).toBe(endpoint);
    expect(got.payload).toMatchObject({
      title: 'ALARM temperature far out of range: fridge-3',
      body: 'Fridge 3 at 13.1 °C since 11:02',
      severity: 'critical',
      url: `https://heru.clinic.example/alarms/${event.alarmId}`,
    });
    expect(got.claims).toMatchObject({
      aud: push.url.origin,
      sub: 'mailto:ops@clinic.example',
    });
    expect(got.headers.urgency).toBe('high');
    expect(got.headers.ttl).toBe('43200');
    expect(got.headers.topic).toMatch(/^[\w-]{32}$/);
  });

  it('posts the SMS form with basic auth and keeps the provider message SID', async () => {
    const event = alarmEvent({
      deviceId: 'fridge-9',
      summary: 'Fridge 9 at 9.4 °C since 10:12',
    });
    app.notify.onAlarmEvent(event);
    await settledDeliveries(app.pool, event.alarmId, 4);
    const sent = sms.sent.find((s) => s.body.includes('fridge-9'))!;
    expect(sent).toMatchObject({ to: '+41791234567', from: '+15005550006' });
    expect(sent.body.length).toBeLessThanOrEqual(134);
    expect(sent.body).toContain('https://heru.clinic.example/alarms/');
    const { rows } = await app.pool.query<{
      provider_ref: string;
      response_code: number;
    }>(
      `select a.provider_ref, a.response_code from notify_attempt a
       join notify_delivery d on d.id = a.delivery_id
       where d.alarm_id = $1 and d.kind = 'sms'`,
      [event.alarmId],
    );
    expect(rows).toEqual([{ provider_ref: sent.sid, response_code: 201 }]);
  });

  it('waits as long as the SMS provider asks in Retry-After before trying again', async () => {
    sms.failNext(1, 429, 1);
    const event = alarmEvent({ deviceId: 'fridge-12', site: 'clinic-7' });
    app.notify.onAlarmEvent(event);
    const rows = await settledDeliveries(app.pool, event.alarmId, 4);
    const smsRow = rows.find((r) => r.kind === 'sms')!;
    expect(smsRow).toMatchObject({ status: 'sent', attempts: 2 });
    const { rows: attempts } = await app.pool.query<{
      response_code: number;
      started_at: Date;
    }>(
      'select response_code, started_at from notify_attempt where delivery_id = $1 order by attempt',
      [smsRow.id],
    );
    expect(attempts.map((a) => a.response_code)).toEqual([429, 201]);
    const waited = attempts[1]!.started_at.getTime() - attempts[0]!.started_at.getTime();
    expect(waited).toBeGreaterThanOrEqual(1000);
  });

  it('mails a UTF-8 message with the alarm and a Message-ID derived from the delivery', async () => {
    const event = alarmEvent({
      deviceId: 'kühlschrank-2',
      summary: 'Kühlschrank 2 bei 12.4 °C',
    });
    app.notify.onAlarmEvent(event);
    await settledDeliveries(app.pool, event.alarmId, 4);
    const mail = smtp.received.find((m) =>
      m.data.includes(`X-Heru-Alarm: ${event.alarmId}`),
    )!;
    expect(mail.from).toBe('alarms@clinic.example');
    expect(mail.to).toEqual(['nurse@clinic.example']);
    const [head, body] = mail.data.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(/^Subject: =\?UTF-8\?B\?/m);
    expect(head).toMatch(/^Message-ID: <delivery-\d+@clinic\.example>$/m);
    expect(head).toMatch(/^Auto-Submitted: auto-generated$/m);
    const text = Buffer.from(body.replace(/\r\n/g, ''), 'base64').toString('utf8');
    expect(text).toContain('Kühlschrank 2 bei 12.4 °C');
    expect(text).toContain('Device:    kühlschrank-2');
  });

  it('signs the webhook so that the receiver verifies it, and names the delivery', async () => {
    const event = alarmEvent({
      type: 'raised',
      kind: 'sensor_fault',
      severity: 'warning',
    });
    app.notify.onAlarmEvent(event);
    const hook = await waitUntil(() =>
      hooks.received.find(
        (h) => (h.body.alarm as { id?: string } | null)?.id === event.alarmId,
      ),
    );
    expect(hooks.refused).toEqual([]);
    expect(hook.event).toBe('alarm.raised');
    expect(hook.body).toMatchObject({
      delivery_id: hook.deliveryId,
      event: 'raised',
      severity: 'warning',
      alarm: { id: event.alarmId, kind: 'sensor_fault', device_id: 'fridge-3', level: 0 },
      recipient: { id: nurse.id, name: 'Night nurse' },
    });
  });

  it('disables a push subscription the push service reports gone, without retrying it', async () => {
    const sub = push.subscribe(vapid.publicKey);
    const ward = await createRecipient(app, {
      name: 'Ward tablet',
      scope: 'device',
      scope_value: 'fridge-41',
      channels: [{ kind: 'push', subscription: sub }],
    });
    push.expire(sub.endpoint);
    const event = alarmEvent({ deviceId: 'fridge-41', site: 'clinic-8' });
    app.notify.onAlarmEvent(event);
    const [row] = await settledDeliveries(app.pool, event.alarmId, 1);
    expect(row).toMatchObject({ status: 'failed', attempts: 1 });
    const { rows } = await app.pool.query<{ enabled: boolean; disabled_reason: string }>(
      'select enabled, disabled_reason from notify_channel where id = $1',
      [ward.channels[0]!.id],
    );
    expect(rows[0]).toEqual({
      enabled: false,
      disabled_reason: 'push subscription expired (push service answered 410)',
    });
  });
});

describe('e-mail over STARTTLS', () => {
  let dir: string;
  let smtp: MockSmtpServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'heru-smtp-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    smtp = await startSmtpServer({
      tls: {
        key: readFileSync(join(dir, 'key.pem'), 'utf8'),
        cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      },
      auth: { user: 'heru', pass: 's3cret-pass' },
    });
  });

  afterAll(async () => {
    await smtp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (over: { starttls: 'required' | 'off'; caFile?: string }) =>
    new EmailChannel({
      url: new URL(`smtp://127.0.0.1:${smtp.port}`),
      from: 'alarms@clinic.example',
      heloName: 'heru.test',
      username: 'heru',
      password: 's3cret-pass',
      ...over,
    }).send(
      {
        id: '1',
        kind: 'email',
        address: 'qa@clinic.example',
        recipient: { id: '1', name: 'QA' },
      },
      {
        deliveryId: '77',
        attempt: 1,
        signal: AbortSignal.timeout(5000),
        message: {
          event: 'test',
          severity: 'info',
          title: 'Test',
          text: 'hello',
          at: new Date().toISOString(),
        },
      },
    );

  it('upgrades to TLS, trusts the configured CA, authenticates and delivers', async () => {
    const result = await send({ starttls: 'required', caFile: join(dir, 'cert.pem') });
    expect(result).toMatchObject({ outcome: 'sent', responseCode: 250 });
    expect(smtp.received.at(-1)).toMatchObject({
      secure: true,
      user: 'heru',
      to: ['qa@clinic.example'],
    });
  });

  it('refuses a certificate it cannot trust, as a retryable failure', async () => {
    const result = await send({ starttls: 'required' });
    expect(result.outcome).toBe('retry');
    expect(result.error).toMatch(/certificate is not trusted .*SMTP_CA_FILE/);
  });
});
