import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNotifyConfig } from '../src/notify/config.js';
import { createPool } from '../src/db/pool.js';
import { NotificationHub } from '../src/notify/hub.js';
import { createChannels } from '../src/notify/channels/index.js';
import { recordEvents } from '../src/notify/intake.js';
import { createNotifyMetrics } from '../src/notify/metrics.js';
import { DeliveryWorker } from '../src/notify/worker.js';
import { createLogger } from '../src/log.js';
import { Health } from '../src/health.js';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { freePort } from './helpers/ports.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import {
  startWebhookReceiver,
  type MockWebhookReceiver,
} from './mocks/webhookReceiver.js';
import {
  alarmEvent,
  createRecipient,
  settledDeliveries,
  waitUntil,
} from './notify.fixtures.js';

const RATE_LIMIT = 3;
const WINDOW_S = 2;

describe('deliveries are queued jobs with retries, a rate limit and a time limit', () => {
  let db: TestDatabase;
  let app: TestApp;
  let hooks: MockWebhookReceiver;

  /** A recipient for one device with a webhook to the receiver. */
  async function webhookRecipient(device: string, url = hooks.url): Promise<string> {
    const r = await createRecipient(app, {
      name: `Desk for ${device}`,
      scope: 'device',
      scope_value: device,
      channels: [{ kind: 'webhook', url: url.toString(), secret: 'x'.repeat(40) }],
    });
    return r.id;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    hooks = await startWebhookReceiver();
    hooks.setSecret('x'.repeat(40));
    app = await startTestApp({
      databaseUrl: db.url,
      env: {
        NOTIFY_POLL_MS: '50',
        NOTIFY_RETRY_BASE_MS: '200',
        NOTIFY_TIMEOUT_MS: '1000',
        NOTIFY_RATE_LIMIT: String(RATE_LIMIT),
        NOTIFY_RATE_WINDOW_SECONDS: String(WINDOW_S),
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    await hooks?.close();
    await db?.drop();
  });

  it('retries a receiver that is down with growing waits, records every attempt, then delivers', async () => {
    await webhookRecipient('fridge-down');
    hooks.setMode('down');
    const event = alarmEvent({ deviceId: 'fridge-down' });
    app.notify.onAlarmEvent(event);
    await waitUntil(
      () => (hooks.downHits.length >= 4 ? true : undefined),
      10_000,
      '4 attempts',
    );
    hooks.setMode('ok');
    const [row] = await settledDeliveries(app.pool, event.alarmId, 1);
    expect(row).toMatchObject({ status: 'sent', last_error: null });

    const { rows } = await app.pool.query<{
      attempt: number;
      outcome: string;
      response_code: number;
      started_at: Date;
      duration_ms: number;
      error: string | null;
    }>(
      `select attempt, outcome, response_code, started_at, duration_ms, error
       from notify_attempt where delivery_id = $1 order by attempt`,
      [row!.id],
    );
    expect(rows.length).toBeGreaterThanOrEqual(5);
    expect(rows.at(-1)).toMatchObject({ outcome: 'sent', response_code: 204 });
    for (const r of rows.slice(0, -1)) {
      expect(r).toMatchObject({ outcome: 'retry', response_code: 503 });
      expect(r.error).toMatch(/^webhook answered 503/);
    }
    expect(rows.map((r) => r.attempt)).toEqual(rows.map((_, i) => i + 1));
    // Waits of 200, 400, 800 ms (less up to a quarter): each longer than the one before.
    const gaps = rows
      .slice(1)
      .map((r, i) => r.started_at.getTime() - rows[i]!.started_at.getTime());
    expect(gaps[0]).toBeGreaterThanOrEqual(150);
    expect(gaps[1]!).toBeGreaterThan(gaps[0]!);
    expect(gaps[2]!).toBeGreaterThan(gaps[1]!);
  });

  it('keeps a burst of 2,000 alarms for one recipient within the limit and tells the rest in digests', async () => {
    await webhookRecipient('fridge-burst');
    const before = hooks.received.length;
    const t0 = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < 2000; i += 1) {
      const e = alarmEvent({ deviceId: 'fridge-burst', summary: `excursion ${i}` });
      ids.push(e.alarmId);
      app.notify.onAlarmEvent(e);
    }
    const handOffMs = performance.now() - t0;
    await app.notify.flush();

    const { rows: counts } = await app.pool.query<{
      status: string;
      event: string;
      n: number;
    }>(
      `select status, event, count(*)::int as n from notify_delivery d
       join notify_channel c on c.id = d.channel_id
       join notify_recipient r on r.id = c.recipient_id
       where r.scope_value = 'fridge-burst' group by 1, 2`,
    );
    const n = (status: string, event: string) =>
      counts.find((c) => c.status === status && c.event === event)?.n ?? 0;
    const own = counts.filter((c) => c.event === 'raised').reduce((s, c) => s + c.n, 0);
    expect(own).toBe(2000);
    expect(n('coalesced', 'raised')).toBeGreaterThanOrEqual(2000 - 3 * RATE_LIMIT * 10);

    // Wait until nothing is left to send, then check what the receiver saw.
    await waitFor(
      async () => {
        const { rows } = await app.pool.query<{ n: number }>(
          `select count(*)::int as n from notify_delivery where status in ('pending', 'sending')`,
        );
        return rows[0]!.n === 0 ? true : undefined;
      },
      30_000,
      'the digests',
    );
    const got = hooks.received
      .slice(before)
      .filter((h) => h.body.recipient !== undefined);
    const digests = got.filter((h) => h.body.event === 'digest');
    const told = got.length - digests.length;
    const inDigests = digests.reduce(
      (s, h) => s + (h.body.digest as { count: number }).count,
      0,
    );
    expect(told + inDigests).toBe(2000);
    // A handful per window while the burst is recorded, not 2,000.
    expect(got.length).toBeLessThan(100);
    // No window of WINDOW_S seconds holds more than RATE_LIMIT slots (the moment a
    // message counts against the limit; it is sent at or after it).
    const { rows: slots } = await app.pool.query<{ t: number }>(
      `select extract(epoch from slot_at)::float8 * 1000 as t from notify_delivery d
       join notify_channel c on c.id = d.channel_id
       join notify_recipient r on r.id = c.recipient_id
       where r.scope_value = 'fridge-burst' and d.status <> 'coalesced' order by slot_at`,
    );
    expect(slots.length).toBe(got.length);
    for (let i = RATE_LIMIT; i < slots.length; i += 1) {
      expect(slots[i]!.t - slots[i - RATE_LIMIT]!.t).toBeGreaterThanOrEqual(
        WINDOW_S * 1000,
      );
    }
    expect(handOffMs).toBeLessThan(500);
    console.log(
      `burst: 2000 events handed over in ${handOffMs.toFixed(1)} ms; ${told} messages + ${digests.length} digests (${inDigests} notices) sent`,
    );
  });

  it('does not let a receiver that never answers hold up the deliveries to others', async () => {
    const slow = await startWebhookReceiver('/slow');
    slow.setMode('hang');
    try {
      await webhookRecipient('fridge-hang', slow.url);
      await webhookRecipient('fridge-hang', hooks.url);
      const event = alarmEvent({ deviceId: 'fridge-hang' });
      const t0 = performance.now();
      app.notify.onAlarmEvent(event);
      await waitUntil(() =>
        hooks.received.find(
          (h) => (h.body.alarm as { id: string } | null)?.id === event.alarmId,
        ),
      );
      expect(performance.now() - t0).toBeLessThan(900);
      const first = await waitFor(async () => {
        const { rows } = await app.pool.query<{ error: string; duration_ms: number }>(
          `select a.error, a.duration_ms from notify_attempt a
           join notify_delivery d on d.id = a.delivery_id
           join notify_channel c on c.id = d.channel_id
           where d.alarm_id = $1 and c.address like '%/slow' order by a.attempt`,
          [event.alarmId],
        );
        return rows[0];
      });
      expect(first.error).toBe('webhook did not answer in time');
      expect(first.duration_ms).toBeGreaterThanOrEqual(990);
    } finally {
      await slow.close();
    }
  });

  it('sends a delivery that a dead worker left claimed, once its claim has run out', async () => {
    const recipientId = await webhookRecipient('fridge-orphan');
    // What a worker that died mid-send leaves behind: claimed, its lease not yet over.
    const { rows } = await app.pool.query<{ id: string }>(
      `insert into notify_delivery (alarm_id, event, level, recipient_id, channel_id, kind,
         status, message, slot_at, next_attempt_at, attempts)
       select 'orphan-1', 'raised', 0, recipient_id, id, kind, 'sending', $2, now(),
              now() + interval '1 hour', 1
       from notify_channel where recipient_id = $1
       returning id::text`,
      [
        recipientId,
        {
          event: 'raised',
          severity: 'critical',
          title: 'orphan',
          text: 'x',
          at: new Date().toISOString(),
        },
      ],
    );
    const id = rows[0]!.id;
    const delivered = () => hooks.received.find((h) => h.deliveryId === id);
    await new Promise((r) => setTimeout(r, 300));
    expect(delivered()).toBeUndefined();

    await app.pool.query(
      `update notify_delivery set next_attempt_at = now() - interval '1 second' where id = $1`,
      [id],
    );
    await waitUntil(delivered);
    const [row] = await settledDeliveries(app.pool, 'orphan-1', 1);
    expect(row).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('claims what it queues in the same transaction when asked, and leaves the rest pending', async () => {
    await webhookRecipient('fridge-claim');
    const config = readNotifyConfig({});
    const statusOf = async (id: string) =>
      (
        await app.pool.query<{ status: string; attempts: number }>(
          'select status, attempts from notify_delivery where id = $1',
          [id],
        )
      ).rows[0];

    const claimedNow = await recordEvents(
      app.pool,
      [alarmEvent({ deviceId: 'fridge-claim', alarmId: 'claim-1' })],
      config,
      { claim: { upTo: 1, leaseMs: 3_600_000 } },
    );
    expect(claimedNow.queued).toEqual([]);
    expect(claimedNow.claimed).toHaveLength(1);
    expect(claimedNow.claimed[0]).toMatchObject({
      attempt: 1,
      kind: 'webhook',
      live: true,
    });
    expect(await statusOf(claimedNow.claimed[0]!.id)).toEqual({
      status: 'sending',
      attempts: 1,
    });

    const left = await recordEvents(
      app.pool,
      [alarmEvent({ deviceId: 'fridge-claim', alarmId: 'claim-2' })],
      config,
      { claim: { upTo: 0, leaseMs: 3_600_000 } },
    );
    expect(left.claimed).toEqual([]);
    expect(left.queued).toHaveLength(1);
    // Left pending, the app's own worker finds it and sends it.
    await waitUntil(() => hooks.received.find((h) => h.deliveryId === left.queued[0]));
  });

  it('does not send what a claim committed after its worker stopped', async () => {
    await webhookRecipient('fridge-late-claim');
    const config = readNotifyConfig({});
    const worker = new DeliveryWorker({
      pool: app.pool,
      channels: createChannels(config),
      config,
      metrics: createNotifyMetrics(new Registry()),
      log: createLogger('silent'),
    });
    const room = worker.reserve(1);
    expect(room).toBe(1);
    await worker.close();
    // The hub's transaction commits its claim only now, after the stop.
    const late = await recordEvents(
      app.pool,
      [alarmEvent({ deviceId: 'fridge-late-claim', alarmId: 'late-claim-1' })],
      config,
      { claim: { upTo: room, leaseMs: 3_600_000 } },
    );
    expect(late.claimed).toHaveLength(1);
    worker.handOver(late.claimed, room);
    await new Promise((r) => setTimeout(r, 500));
    const id = late.claimed[0]!.id;
    expect(hooks.received.find((h) => h.deliveryId === id)).toBeUndefined();
    const { rows } = await app.pool.query<{ n: number }>(
      'select count(*)::int as n from notify_attempt where delivery_id = $1',
      [id],
    );
    expect(rows[0]!.n).toBe(0);
  });

  it('takes alarm events at once while PostgreSQL is unreachable, and says so in /health', async () => {
    const port = await freePort();
    const log = createLogger('silent');
    const pool = createPool(new URL(`postgres://postgres@127.0.0.1:${port}/none`), log);
    const hub = new NotificationHub({
      pool,
      config: readNotifyConfig({ NOTIFY_WORKER: 'false' }),
      log,
      registry: new Registry(),
    });
    const health = new Health();
    hub.registerHealth(health);
    try {
      const t0 = performance.now();
      for (let i = 0; i < 1000; i += 1) hub.onAlarmEvent(alarmEvent());
      expect(performance.now() - t0).toBeLessThan(100);
      await hub.flush();
      const report = await health.report();
      expect(report.checks.notify).toMatchObject({ status: 'failing', buffered: 1000 });
      expect(report.checks.notify?.detail).toMatch(/alarm events not recorded since/);
    } finally {
      await hub.close();
      await pool.end();
    }
  });
});
