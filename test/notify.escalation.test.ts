import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import {
  startWebhookReceiver,
  type MockWebhookReceiver,
} from './mocks/webhookReceiver.js';
import { alarmEvent, createRecipient, waitUntil } from './notify.fixtures.js';

const SECRET = 'escalation-test-secret-0123456789abcdef';

describe('an alarm nobody acknowledges is escalated to the next level', () => {
  let db: TestDatabase;
  let app: TestApp;
  let hooks: MockWebhookReceiver;
  const ids = { nurse: '', pharmacist: '', manager: '' };

  /** The notices one recipient got about one alarm, as [event, level]. */
  const told = (recipient: string, alarmId: string) =>
    hooks.received
      .filter(
        (h) =>
          (h.body.recipient as { id: string }).id === recipient &&
          (h.body.alarm as { id: string } | null)?.id === alarmId,
      )
      .map((h) => [h.body.event, (h.body.alarm as { level: number }).level]);

  beforeAll(async () => {
    db = await createTestDatabase();
    hooks = await startWebhookReceiver();
    hooks.setSecret(SECRET);
    app = await startTestApp({
      databaseUrl: db.url,
      env: {
        NOTIFY_POLL_MS: '50',
        NOTIFY_ESCALATE_AFTER_SECONDS: '1',
        NOTIFY_RATE_LIMIT: '100',
      },
    });
    const person = async (name: string, level: number, notifyOn: string[]) =>
      (
        await createRecipient(app, {
          name,
          scope: 'site',
          scope_value: 'clinic-esc',
          level,
          notify_on: notifyOn,
          channels: [{ kind: 'webhook', url: hooks.url.toString(), secret: SECRET }],
        })
      ).id;
    ids.nurse = await person('Nurse on duty', 0, ['raised', 'acknowledged', 'cleared']);
    ids.pharmacist = await person('Pharmacist', 1, ['raised', 'acknowledged']);
    ids.manager = await person('Quality manager', 2, ['raised']);
  });

  afterAll(async () => {
    await app?.close();
    await hooks?.close();
    await db?.drop();
  });

  it('tells level 1 after the delay, then level 2 after another, while it stays unacknowledged', async () => {
    const event = alarmEvent({ site: 'clinic-esc' });
    const t0 = Date.now();
    app.notify.onAlarmEvent(event);
    await waitUntil(() => (told(ids.nurse, event.alarmId).length ? true : undefined));
    expect(told(ids.pharmacist, event.alarmId)).toEqual([]);

    await waitUntil(
      () => (told(ids.pharmacist, event.alarmId).length ? true : undefined),
      5000,
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(told(ids.pharmacist, event.alarmId)).toEqual([['escalated', 1]]);

    await waitUntil(
      () => (told(ids.manager, event.alarmId).length ? true : undefined),
      5000,
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    expect(told(ids.manager, event.alarmId)).toEqual([['escalated', 2]]);
    expect(told(ids.nurse, event.alarmId)).toEqual([['raised', 0]]);

    // No level above 2: the escalation clock has stopped.
    const { rows } = await app.pool.query<{ level: number; escalate_at: Date | null }>(
      'select level, escalate_at from notify_alarm where alarm_id = $1',
      [event.alarmId],
    );
    expect(rows[0]).toEqual({ level: 2, escalate_at: null });
  });

  it('tells nobody further once the alarm is acknowledged, and tells the acknowledgement to those who heard', async () => {
    const event = alarmEvent({ site: 'clinic-esc' });
    app.notify.onAlarmEvent(event);
    await waitUntil(() => (told(ids.nurse, event.alarmId).length ? true : undefined));
    app.notify.onAlarmEvent({
      ...event,
      type: 'acknowledged',
      actor: 'nurse.ines',
      at: new Date().toISOString(),
    });
    await waitUntil(() =>
      told(ids.nurse, event.alarmId).length === 2 ? true : undefined,
    );
    const ack = hooks.received.find(
      (h) =>
        h.body.event === 'acknowledged' &&
        (h.body.alarm as { id: string }).id === event.alarmId,
    );
    expect(ack?.body.actor).toBe('nurse.ines');
    expect(ack?.body.title).toMatch(/^Acknowledged by nurse.ines/);

    // Well past two escalation delays: still nothing for levels 1 and 2.
    await new Promise((r) => setTimeout(r, 2500));
    expect(told(ids.pharmacist, event.alarmId)).toEqual([]);
    expect(told(ids.manager, event.alarmId)).toEqual([]);
    expect(told(ids.nurse, event.alarmId)).toEqual([
      ['raised', 0],
      ['acknowledged', 0],
    ]);
  });

  it('tells a historical excursion as such and never escalates it', async () => {
    const event = alarmEvent({
      site: 'clinic-esc',
      kind: 'excursion_high',
      historical: true,
    });
    app.notify.onAlarmEvent(event);
    await waitUntil(() => (told(ids.nurse, event.alarmId).length ? true : undefined));
    const hook = hooks.received.find(
      (h) => (h.body.alarm as { id: string } | null)?.id === event.alarmId,
    );
    expect(hook?.body.title).toBe(
      'Past excursion, reported late: high temperature, fridge-3',
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(told(ids.pharmacist, event.alarmId)).toEqual([]);
  });

  it('tells the clearing only to recipients who asked for it and were told of the alarm', async () => {
    const event = alarmEvent({
      site: 'clinic-esc',
      kind: 'excursion_high',
      severity: 'warning',
    });
    app.notify.onAlarmEvent(event);
    await waitUntil(
      () => (told(ids.pharmacist, event.alarmId).length ? true : undefined),
      5000,
    );
    app.notify.onAlarmEvent({ ...event, type: 'cleared', at: new Date().toISOString() });
    await waitUntil(() =>
      told(ids.nurse, event.alarmId).some(([e]) => e === 'cleared') ? true : undefined,
    );
    await app.notify.flush();
    // The pharmacist did not ask for clearings; escalation goes on until acknowledged.
    expect(told(ids.pharmacist, event.alarmId)).toEqual([['escalated', 1]]);
  });
});
