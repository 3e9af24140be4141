/**
 * The dashboard's service worker receiving alarm notifications.
 *
 * What is real: the server's notification hub encrypts each notice for a Web Push
 * subscription (RFC 8291) and posts it with a VAPID token (RFC 8292) to a push
 * service on 127.0.0.1 (test/mocks/pushService.ts), which checks the token and
 * decrypts the message with the subscription's private key, as a browser's push
 * service and browser would; the service worker is the one the dashboard registers,
 * running in Chromium, and it shows the notification.
 *
 * What is simulated: the leg from the push service to the browser. A subscription
 * made in Chromium points at its vendor's push service, which this machine cannot
 * reach, so the subscription here is the local push service's, and the message it
 * decrypted is handed to the service worker through the DevTools protocol
 * (`ServiceWorker.deliverPushMessage`), which fires the worker's `push` event with
 * those bytes while no dashboard page is open.
 */
import type { CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlarmRow } from '../src/alarms/alarmStore.js';
import { ALARM_COLUMNS } from '../src/alarms/alarmStore.js';
import { generateVapidKeys } from '../src/notify/push/vapid.js';
import { ensureWebBuilt } from '../scripts/build-web.js';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { launchBrowser, noBrowser, type Browser } from './helpers/browser.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { startPushService, type MockPushService } from './mocks/pushService.js';

const skip = noBrowser();
if (skip) console.warn(`dashboard push test skipped: ${skip}`);

describe.skipIf(skip !== undefined)(
  'alarm notifications in the installed dashboard',
  () => {
    const vapid = generateVapidKeys();
    let db: TestDatabase;
    let app: TestApp;
    let push: MockPushService;
    let browser: Browser;
    let recipientId: string;
    let endpoint: string;

    beforeAll(async () => {
      await ensureWebBuilt();
      db = await createTestDatabase();
      push = await startPushService();
      app = await startTestApp({
        databaseUrl: db.url,
        roles: { ingest: false, api: true },
        env: {
          VAPID_PUBLIC_KEY: vapid.publicKey,
          VAPID_PRIVATE_KEY: vapid.privateKey,
          VAPID_SUBJECT: 'mailto:ops@clinic.example',
          NOTIFY_POLL_MS: '50',
        },
      });
      const subscription = push.subscribe(vapid.publicKey);
      endpoint = subscription.endpoint;
      const res = await app.api('/api/v1/recipients', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'Ward phone',
          channels: [{ kind: 'push', subscription }],
        }),
      });
      expect(res.status).toBe(201);
      recipientId = ((await res.json()) as { id: string }).id;
      browser = await launchBrowser({ origin: app.baseUrl });
    });

    afterAll(async () => {
      await browser?.close();
      await app?.close();
      await push?.close();
      await db?.drop();
    });

    /** Opens the dashboard once (it registers its worker), then closes every page of it. */
    async function installWorker(): Promise<{ cdp: CDPSession; registrationId: string }> {
      const blank = await browser.context.newPage();
      const cdp = await browser.context.newCDPSession(blank);
      const registrations: Array<{ registrationId: string; scopeURL: string }> = [];
      cdp.on('ServiceWorker.workerRegistrationUpdated', (e) =>
        registrations.push(...e.registrations),
      );
      await cdp.send('ServiceWorker.enable');
      const page = await browser.context.newPage();
      await page.goto(`${app.baseUrl}/`);
      // Browser-side code is given as text: this file is typed for Node, not the DOM.
      const state = await page.evaluate<string>(`(async () => {
        const worker = (await navigator.serviceWorker.ready).active;
        if (worker.state !== 'activated') {
          await new Promise((r) => worker.addEventListener('statechange', r, { once: true }));
        }
        return worker.state;
      })()`);
      expect(state).toBe('activated');
      await page.close();
      const reg = await waitFor(
        () =>
          Promise.resolve(registrations.find((r) => r.scopeURL === `${app.baseUrl}/`)),
        10_000,
        'the dashboard worker registration',
      );
      return { cdp, registrationId: reg.registrationId };
    }

    async function shown(page: Page): Promise<Array<Record<string, unknown>>> {
      return page.evaluate<Array<Record<string, unknown>>>(`(async () => {
        const reg = await navigator.serviceWorker.ready;
        return (await reg.getNotifications()).map((n) => ({
          title: n.title, body: n.body, tag: n.tag, data: n.data,
        }));
      })()`);
    }

    it('shows an alarm the hub pushed, with no dashboard page open, and a test notice', async () => {
      const { cdp, registrationId } = await installWorker();
      expect(
        browser.context.pages().filter((p) => p.url().startsWith(app.baseUrl)),
      ).toEqual([]);

      // An alarm raised on the server: the hub encrypts it to the subscription.
      const { rows } = await app.pool.query<AlarmRow>(
        `insert into alarm (device_id, rule_id, kind, severity, state, profile, since, summary)
       values ('fridge-3', 'heat_immediate', 'excursion_immediate', 'critical', 'open',
               'vaccine_fridge', now(), 'fridge-3 at 12.4 °C (limit 12.0 °C)')
       returning ${ALARM_COLUMNS}`,
      );
      app.alarms.notifier.emitRow('raised', rows[0]!);
      const alarm = await waitFor(
        () =>
          Promise.resolve(push.received.find((p) => p.payload.alarm_id === rows[0]!.id)),
        15_000,
        'the alarm at the push service',
      );
      expect(push.refused).toEqual([]);
      expect(alarm.endpoint).toBe(endpoint);
      await cdp.send('ServiceWorker.deliverPushMessage', {
        origin: app.baseUrl,
        registrationId,
        data: JSON.stringify(alarm.payload),
      });

      // The test button of the Notifications page asks for this.
      const test = await app.api(`/api/v1/recipients/${recipientId}/test`, {
        method: 'POST',
      });
      expect(test.status).toBe(202);
      const notice = await waitFor(
        () => Promise.resolve(push.received.find((p) => p.payload.event === 'test')),
        15_000,
        'the test notice at the push service',
      );
      await cdp.send('ServiceWorker.deliverPushMessage', {
        origin: app.baseUrl,
        registrationId,
        data: JSON.stringify(notice.payload),
      });

      const page = await browser.context.newPage();
      await page.goto(`${app.baseUrl}/push`);
      const list = await waitFor(
        async () => {
          const n = await shown(page);
          return n.length >= 2 ? n : undefined;
        },
        10_000,
        'two notifications shown by the worker',
      );
      expect(list).toContainEqual({
        title: alarm.payload.title,
        body: alarm.payload.body,
        tag: `alarm-${rows[0]!.id}`,
        data: expect.objectContaining({ url: `/alarms/${rows[0]!.id}` }) as unknown,
      });
      expect(list.map((n) => n.title)).toContain(notice.payload.title);
      await page.close();
    });
  },
);
