/**
 * The whole server against its own Mosquitto: devices registered with a site raise
 * alarms that carry the site, and reach the recipients of that site (and not those of
 * another) through a signed webhook.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from './helpers/app.js';
import { startBroker, type TestBroker } from './helpers/mosquitto.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import {
  startWebhookReceiver,
  type MockWebhookReceiver,
  type ReceivedHook,
} from './mocks/webhookReceiver.js';
import { createRecipient, post } from './notify.fixtures.js';

const MIN = 60_000;
let db: TestDatabase;
let broker: TestBroker;
let app: TestApp;
let device: mqtt.MqttClient;
let north: MockWebhookReceiver;
let south: MockWebhookReceiver;

async function publish(deviceId: string, temperature: number): Promise<void> {
  const body = { time: new Date().toISOString(), temperature };
  await device.publishAsync(
    `heru/v1/devices/${deviceId}/readings`,
    JSON.stringify(body),
    {
      qos: 1,
    },
  );
}

async function register(deviceId: string, site: string): Promise<void> {
  const res = await post(
    `${app.baseUrl}/api/v1/devices`,
    { device_id: deviceId, site, by: 'it.admin' },
    'POST',
    app.token,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/** A webhook recipient of one site, for every alarm kind from `info` up. */
async function siteRecipient(site: string, hooks: MockWebhookReceiver): Promise<void> {
  const r = await createRecipient(app, {
    name: `Pharmacy ${site}`,
    scope: 'site',
    scope_value: site,
    min_severity: 'info',
    channels: [{ kind: 'webhook', url: hooks.url.toString() }],
  });
  hooks.setSecret(r.channels[0]!.secret!);
}

function hookFor(hooks: MockWebhookReceiver, kind: string, deviceId: string) {
  return (): Promise<ReceivedHook | undefined> => {
    const alarm = (h: ReceivedHook) => h.body.alarm as Record<string, unknown> | null;
    return Promise.resolve(
      hooks.received.find(
        (h) => alarm(h)?.kind === kind && alarm(h)?.device_id === deviceId,
      ),
    );
  };
}

/** Sites of the channels each delivery of an alarm went to. */
async function deliveredTo(alarmId: string): Promise<string[]> {
  const { rows } = await app.pool.query<{ site: string }>(
    `select r.scope_value as site from notify_delivery d
     join notify_recipient r on r.id = d.recipient_id
     where d.alarm_id = $1 order by d.id`,
    [alarmId],
  );
  return rows.map((r) => r.site);
}

beforeAll(async () => {
  db = await createTestDatabase();
  [broker, north, south] = await Promise.all([
    startBroker(),
    startWebhookReceiver(),
    startWebhookReceiver(),
  ]);
  app = await startTestApp({
    databaseUrl: db.url,
    mqttUrl: broker.url,
    env: {
      NOTIFY_POLL_MS: '50',
      // The test moves the watchdog's clock ahead; that is not a monitoring gap.
      ALARM_OUTAGE_AFTER: '86400',
      ALARM_WATCHDOG_INTERVAL: '3600',
      MQTT_CLIENT_ID: `heru-site-e2e-${process.pid}`,
    },
  });
  device = await mqtt.connectAsync(broker.url, { clientId: `site-dev-${process.pid}` });
  await register('fridge-north-1', 'clinic-north');
  await register('fridge-south-1', 'clinic-south');
  await siteRecipient('clinic-north', north);
  await siteRecipient('clinic-south', south);
});

afterAll(async () => {
  await device?.endAsync();
  await app?.close();
  await Promise.all([broker?.destroy(), north?.close(), south?.close()]);
  await db?.drop();
});

describe("alarms carry their device's site to the site's recipients", () => {
  it('tells the pharmacy of the site of a warm fridge, and not that of another site', async () => {
    await publish('fridge-north-1', 13.4);
    const hook = await waitFor(
      hookFor(north, 'excursion_immediate', 'fridge-north-1'),
      20_000,
      'the warm fridge alarm at the north site',
    );
    const alarm = hook.body.alarm as { id: string; site: string };
    expect(alarm.site).toBe('clinic-north');
    expect(await deliveredTo(alarm.id)).toEqual(['clinic-north']);
    expect(south.received).toEqual([]);
  });

  it("sends a silent device's offline alarm to the recipients of its site", async () => {
    await publish('fridge-south-1', 5.2);
    await waitFor(async () => {
      const { rows } = await app.pool.query(
        `select 1 from alarm_device_state where device_id = 'fridge-south-1'`,
      );
      return rows.length > 0 ? true : undefined;
    });
    // Both devices have been silent for longer than the profile's 30 minutes.
    await app.alarms.watchdog.tick(new Date(Date.now() + 31 * MIN));
    const hook = await waitFor(
      hookFor(south, 'device_offline', 'fridge-south-1'),
      20_000,
      'the offline alarm at the south site',
    );
    const alarm = hook.body.alarm as { id: string; site: string };
    expect(alarm.site).toBe('clinic-south');
    expect(await deliveredTo(alarm.id)).toEqual(['clinic-south']);
    expect(
      south.received.some(
        (h) => (h.body.alarm as { device_id?: string }).device_id === 'fridge-north-1',
      ),
    ).toBe(false);
  });
});
