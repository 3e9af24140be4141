/**
 * The dashboard in headless Chromium against the whole server (real PostgreSQL and
 * Mosquitto, simulated devices publishing over MQTT, the anchor worker with its local
 * backends): signing in, the fleet updating live, a device chart, acknowledging an
 * alarm and verifying a proof in the page. Screenshots of the fleet and device views
 * are saved to dist/screenshots (DASHBOARD_SCREENSHOTS to change it).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalize, type JsonValue } from '../src/anchor/canonical.js';
import { createLogger } from '../src/log.js';
import { runLive } from '../src/simulate/live.js';
import { Publisher } from '../src/simulate/publisher.js';
import { ensureWebBuilt } from '../scripts/build-web.js';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { launchBrowser, noBrowser, waitInPage, type Browser } from './helpers/browser.js';
import { seedFleet } from './helpers/dashboardSeed.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { REPO_ROOT } from './helpers/anchor.js';
import { createToken } from '../src/auth/tokenStore.js';

const SHOTS = process.env.DASHBOARD_SCREENSHOTS ?? join(REPO_ROOT, 'dist', 'screenshots');
const skip = noBrowser();
if (skip) console.warn(`dashboard browser test skipped: ${skip}`);

let db: TestDatabase;
let broker: TestBroker;
let app: TestApp;
let browser: Browser;
let page: Page;
let device: MqttClient;
let operator: { token: string; actor: string };
const simulation = new AbortController();
let simulated: Promise<unknown> = Promise.resolve();

async function shot(p: Page, name: string, fullPage = false): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await p.screenshot({ path: join(SHOTS, name), fullPage });
}

describe.skipIf(skip !== undefined)('the dashboard in Chromium', () => {
  beforeAll(async () => {
    await ensureWebBuilt();
    db = await createTestDatabase();
    broker = await startBroker();
    app = await startTestApp({
      databaseUrl: db.url,
      mqttUrl: broker.url,
      roles: { ingest: true, api: true, worker: true },
      env: { ANCHOR_BATCH_WINDOW: '1' },
    });
    const { token, row } = await createToken(app.pool, {
      name: 'nurse.jane',
      role: 'operator',
      by: 'test',
    });
    operator = { token, actor: `nurse.jane (token ${row.id})` };
    // A day of history, as ingest would have stored it: one fridge warm for two
    // hours this morning, one silent for three hours in the night.
    await seedFleet(
      app.pool,
      [
        { id: 'fridge-001', site: 'Ward 1' },
        { id: 'fridge-002', site: 'Ward 1' },
        { id: 'fridge-003', site: 'Ward 2', gap: [14, 11] },
        { id: 'fridge-004', site: 'Pharmacy', warm: [7, 5] },
        { id: 'fridge-005', site: 'Pharmacy' },
        { id: 'fridge-006', site: 'Theatre' },
      ],
      { hours: 24, everyS: 300, now: new Date(Date.now() - 60_000) },
    );
    await app.pool.query(
      `insert into alarm (device_id, rule_id, kind, severity, state, historical, profile,
                          since, until, cleared_at, summary)
       values ('fridge-004', 'heat', 'historical_excursion', 'critical', 'cleared', true,
               'vaccine_fridge', now() - interval '7 hours', now() - interval '5 hours',
               now() - interval '5 hours',
               'fridge-004 was at or above 8.0 °C for 2 h (peak 10.5 °C)')`,
    );
    const log = createLogger('silent');
    const publisher = await Publisher.connect(
      { url: new URL(broker.url), clientId: `sim-${app.clientId}`, protocolVersion: 4 },
      log,
    );
    simulated = runLive(
      {
        devices: 6,
        intervalMs: 1000,
        prefix: 'fridge',
        excursions: false,
        faults: false,
        offline: false,
        format: 'heru-v1',
        seed: 11,
        durationMs: 10 * 60_000,
        signal: simulation.signal,
      },
      publisher,
      log,
    ).finally(() => publisher.close());
    device = await mqtt.connectAsync(broker.url, { clientId: `hot-${app.clientId}` });
    browser = await launchBrowser({ origin: app.baseUrl });
    page = await browser.context.newPage();
  });

  afterAll(async () => {
    simulation.abort();
    await simulated.catch(() => undefined);
    await browser?.close();
    await device?.endAsync();
    await app?.close();
    await broker?.destroy();
    await db?.drop();
  });

  it('signs in with a token and sees the simulated devices update live, worst first', async () => {
    await page.goto(`${app.baseUrl}/`);
    await page.fill('#token', operator.token);
    await page.click('button[type=submit]');
    await page.waitForSelector('.tiles li[data-device="fridge-006"]');
    await expect.poll(() => page.textContent('.top .live')).toContain('Live');
    expect(await page.textContent('.top .who')).toContain('nurse.jane · operator');

    // The same page, not reloaded, shows newer readings as they arrive.
    // Browser-side code is given as text: this file is typed for Node, not the DOM.
    await page.evaluate('window.notReloaded = true');
    const seen = await page.getAttribute('[data-device="fridge-002"]', 'data-seen');
    await waitInPage(
      page,
      `document.querySelector('[data-device="fridge-002"]')?.dataset.seen !== ${JSON.stringify(seen)}`,
    );

    // A fridge at +13 °C raises an alarm at once: its tile goes first, in red, with words.
    await device.publishAsync(
      'heru/v1/devices/fridge-hot/readings',
      JSON.stringify({ temperature: 13.2, humidity: 51 }),
      { qos: 1 },
    );
    await waitInPage(
      page,
      `document.querySelector('.tiles li')?.dataset.device === 'fridge-hot'`,
    );
    const first = page.locator('.tiles li').first();
    await expect.poll(() => first.getAttribute('class')).toContain('st-excursion');
    expect(await first.locator('.badge').textContent()).toContain('Excursion');
    expect(await first.textContent()).toContain('13.2 °C');
    expect(await page.evaluate('window.notReloaded === true')).toBe(true);
    await page.waitForTimeout(1500); // the highlight of the last change fades
    await shot(page, 'fleet.png');

    const phone = await browser.context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${app.baseUrl}/`);
    await phone.fill('#token', operator.token);
    await phone.click('button[type=submit]');
    await phone.waitForSelector('.tiles li[data-device="fridge-006"]');
    // Opened after the alarm, from a snapshot the server may have taken before it.
    await waitInPage(
      phone,
      `document.querySelector('.tiles li')?.dataset.device === 'fridge-hot'`,
    );
    await shot(phone, 'fleet-phone.png');
    await phone.close();
  });

  it('opens a device chart with its range, the excursion, the gap and the daily report', async () => {
    await page.click('[data-device="fridge-004"] a');
    await page.waitForURL(/\/devices\/fridge-004$/);
    await page.waitForSelector('.chart canvas');
    expect(await page.textContent('.legend')).toMatch(/readings|buckets/);
    expect(await page.textContent('.device')).toContain('Past excursion');
    await page.waitForSelector('.daily table');
    await page.waitForSelector('.mkt');
    await page.waitForTimeout(500);
    await shot(page, 'device.png', true);

    await page.click('button:text("15 min")');
    await expect
      .poll(() => page.textContent('.legend'), { timeout: 10_000 })
      .toContain('click one for its proof');
  });

  it('acknowledges an alarm with a comment and shows who did it and when', async () => {
    await page.click('.top nav a:text("Alarms")');
    const card = page.locator('li.alarm', { hasText: 'fridge-hot' }).first();
    await card.waitFor();
    const alarmId = await card.getAttribute('data-alarm');
    await card
      .locator('input')
      .fill('door was open, closed it; stock moved to fridge-002');
    await card.locator('button:text("Acknowledge")').click();
    await expect
      .poll(() => page.locator(`li[data-alarm="${alarmId}"] .ack`).textContent())
      .toContain(`Acknowledged by ${operator.actor}`);

    const res = await app.api(`/api/v1/alarms/${alarmId}`);
    const alarm = (await res.json()) as Record<string, unknown>;
    expect(alarm).toMatchObject({
      state: 'acknowledged',
      acknowledged_by: operator.actor,
      ack_comment: 'door was open, closed it; stock moved to fridge-002',
    });
  });

  it('verifies a proof in the page, and refuses one whose reading was changed', async () => {
    const id = await waitFor(
      async () => {
        const from = new Date(Date.now() - 5 * 60_000).toISOString();
        const r = await app.api(
          `/api/v1/devices/fridge-001/readings?from=${from}&limit=5`,
        );
        const first = ((await r.json()) as { readings: Array<{ id: string }> })
          .readings[0];
        if (!first) return undefined;
        const proof = await app.api(`/api/v1/readings/${first.id}/proof`);
        await proof.body?.cancel();
        return proof.status === 200 ? first.id : undefined;
      },
      30_000,
      'an anchored reading of fridge-001',
    );
    await page.goto(`${app.baseUrl}/proofs/${id}`);
    await page.waitForSelector('.facts');
    await page.click('button:text("Verify in this browser")');
    await page.waitForSelector('.verdict');
    expect(await page.getAttribute('.verdict', 'class')).toContain('ok');
    expect(await page.locator('.verdict li.ok').count()).toBe(4);
    await shot(page, 'proof.png');

    // The same proof with the reading's temperature changed, and its text made to
    // match: only hashing in the page can tell.
    await page.route(`**/api/v1/readings/${id}/proof`, async (route) => {
      const res = await route.fetch();
      const proof = (await res.json()) as {
        reading: Record<string, JsonValue>;
        canonical: string;
      };
      const t = proof.reading.temperature_c as number;
      proof.reading.temperature_c = t + 1;
      proof.canonical = canonicalize(proof.reading);
      await route.fulfill({ response: res, json: proof });
    });
    await page.route(`**/api/v1/readings/${id}`, async (route) => {
      const res = await route.fetch();
      const reading = (await res.json()) as { temperature_c: number };
      reading.temperature_c += 1;
      await route.fulfill({ response: res, json: reading });
    });
    await page.reload();
    await page.click('button:text("Verify in this browser")');
    await page.waitForSelector('.verdict');
    expect(await page.getAttribute('.verdict', 'class')).toContain('bad');
    expect(await page.textContent('.verdict li.bad')).toContain('leaf');
    await page.unrouteAll();
  });
});
