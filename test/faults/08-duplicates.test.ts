/**
 * Scenario 8: every way a copy of a reading reaches ingest, each made on the wire
 * (taps between the clients and the broker count and lose packets):
 *
 * - QoS 1 redelivery: ingest's PUBACKs are lost and its connection cut; the broker
 *   sends every unacknowledged message again with DUP set when ingest resumes its
 *   session;
 * - a device that resends with DUP: the broker's PUBACKs to it are lost and its
 *   connection cut; it publishes the same messages again when it reconnects;
 * - retained messages seen again: a second ingest instance (a new session, so a new
 *   subscription) is sent the retained copies of messages the first one stored
 *   live, in the server's format and in the Heru firmware's (no time, no numbers);
 * - the same batch (an array of readings) published twice.
 *
 * Every reading must be stored once and anchored once, and /metrics must count the
 * copies it absorbed.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { readingPayload, readingsTopic } from '../helpers/burst.js';
import { pollUntil } from '../helpers/exactlyOnce.js';
import { useFaultRig } from '../helpers/faultRig.js';
import { alarmsBrief, tallyLocalAnchoring } from '../helpers/faultTally.js';
import { MqttTap } from '../helpers/mqttTap.js';
import { ResendingDevice } from '../helpers/resendingDevice.js';
import type { ServerProcess } from '../helpers/serverProcess.js';
import { recordFigures } from './figures.js';

/** Readings redelivered to ingest, resent by a device, and in the repeated batch. */
const REDELIVERED = 200;
const RESENT = 100;
const BATCH = 50;
const FIRMWARE = '{"device_id": "dup-firmware","temperature": 4.5,"humidity": 50.0}';

describe('scenario 8: duplicates from every side', () => {
  const rig = useFaultRig('fault8');
  const baseMs = Date.now() - 3600_000;

  interface DeviceCount {
    readings: number;
    stored: number;
    duplicate: number;
    status: number;
    retained: number;
  }

  /** Readings of a device, and its raw messages by outcome. */
  async function countsOf(device: string): Promise<DeviceCount> {
    const { rows } = await rig.sql.query<DeviceCount>(
      `select (select count(*)::int from reading where device_id = $1) as readings,
              count(*) filter (where outcome = 'stored')::int as stored,
              count(*) filter (where outcome = 'duplicate')::int as duplicate,
              count(*) filter (where outcome = 'status')::int as status,
              count(*) filter (where retained)::int as retained
       from raw_message where device_id = $1`,
      [device],
    );
    return rows[0]!;
  }

  const rawMessages = async (device: string): Promise<number> => {
    const c = await countsOf(device);
    return c.stored + c.duplicate + c.status;
  };

  const untilRaw = (device: string, n: number) =>
    pollUntil(
      () => rawMessages(device),
      (m) => m >= n,
      30_000,
      `${n} messages of ${device}`,
    );

  const publishSeq = (c: mqtt.MqttClient, device: string, n: number) =>
    Array.from({ length: n }, (_, seq) =>
      c.publishAsync(readingsTopic(device), readingPayload(seq, 1, baseMs), { qos: 1 }),
    );

  it('stores each reading once, anchors it once and counts the copies', async () => {
    const ingestTap = await MqttTap.start(rig.broker.port);
    rig.defer(() => ingestTap.close());
    const deviceTap = await MqttTap.start(rig.broker.port);
    rig.defer(() => deviceTap.close());
    const publisher = await mqtt.connectAsync(rig.broker.url, { clientId: 'fault8-pub' });
    rig.defer(() => publisher.endAsync(true));
    const env = {
      // Copies of a timeless payload more than a second apart are new readings.
      TIMELESS_DEDUP_WINDOW: '1',
      ANCHOR_BATCH_WINDOW: '2',
      ANCHOR_RECONCILE_INTERVAL: '5',
    };

    // Retained messages, stored live by a first ingest instance; the first copy of
    // the batch shows its subscriptions are in place before they are published.
    const first = await rig.server({
      clientId: 'heru-fault8-first',
      mqttUrl: ingestTap.url,
      env,
    });
    const readings = Array.from({ length: BATCH }, (_, seq) =>
      readingPayload(seq, 1, baseMs),
    );
    const batch = `[${readings.join(',')}]`;
    await publisher.publishAsync(readingsTopic('dup-batch'), batch, { qos: 1 });
    await untilRaw('dup-batch', 1);
    await publisher.publishAsync(
      readingsTopic('dup-retained'),
      readingPayload(0, 1, baseMs),
      { qos: 1, retain: true },
    );
    await publisher.publishAsync('heru/sensors/dup-firmware', FIRMWARE, {
      qos: 1,
      retain: true,
    });
    await untilRaw('dup-retained', 1);
    await untilRaw('dup-firmware', 1);
    expect(await first.stop()).toBe(0);
    // Past the dedup window of the firmware's timeless payload.
    await new Promise((r) => setTimeout(r, 1_100));
    // A second instance, a new session: the broker sends it the retained copies.
    const server = await rig.server({
      clientId: 'heru-fault8-second',
      mqttUrl: ingestTap.url,
      env,
    });
    await untilRaw('dup-retained', 2);
    await untilRaw('dup-firmware', 2);
    const retainedSeen = ingestTap.counts.down.retainedPublishes;

    // QoS 1 redelivery: ingest stores and acknowledges, the PUBACKs are lost.
    const up = ingestTap.counts.up;
    const down = ingestTap.counts.down;
    await pollUntil(
      () => Promise.resolve(up.pubacks),
      (n) => n === down.publishes,
      10_000,
      'every message so far acknowledged',
    );
    ingestTap.dropPubacks('up', true);
    await Promise.all(publishSeq(publisher, 'dup-redelivered', REDELIVERED));
    await pollUntil(
      () => Promise.resolve(ingestTap.counts.up.pubacksDropped),
      (n) => n === REDELIVERED,
      30_000,
      'ingest acknowledging every message once stored',
    );
    const storedBeforeCut = (await countsOf('dup-redelivered')).readings;
    ingestTap.dropPubacks('up', false);
    const dupBefore = ingestTap.counts.down.dupPublishes;
    ingestTap.cut();
    await untilRaw('dup-redelivered', 2 * REDELIVERED);
    const redeliveredWithDup = ingestTap.counts.down.dupPublishes - dupBefore;

    // A device whose PUBACKs are lost sends the same messages again, with DUP.
    const device = await ResendingDevice.connect(deviceTap.port, 'dup-resent');
    rig.defer(() => device.close());
    deviceTap.dropPubacks('down', true);
    for (let seq = 0; seq < RESENT; seq += 1)
      device.publish(readingsTopic('dup-resent'), readingPayload(seq, 1, baseMs));
    await untilRaw('dup-resent', RESENT);
    const unackedAtCut = device.pending;
    deviceTap.dropPubacks('down', false);
    deviceTap.cut();
    const sessionResumed = await device.resume();
    await device.allAcknowledged(30_000);
    await untilRaw('dup-resent', 2 * RESENT);

    // The same batch published a second time.
    await publisher.publishAsync(readingsTopic('dup-batch'), batch, { qos: 1 });
    await untilRaw('dup-batch', 2);

    const counts = {
      retained: await countsOf('dup-retained'),
      firmware: await countsOf('dup-firmware'),
      redelivered: await countsOf('dup-redelivered'),
      resent: await countsOf('dup-resent'),
      batch: await countsOf('dup-batch'),
    };
    const metrics = await metricsOf(server);
    const anchoring = await tallyLocalAnchoring(rig.sql, rig.dataDir);
    const distinct = 2 + REDELIVERED + RESENT + BATCH;
    const storedNow = Object.values(counts).reduce((n, c) => n + c.readings, 0);

    await recordFigures({
      scenario: '8 duplicates',
      sent: distinct,
      stored: storedNow,
      duplicates: storedNow - distinct,
      lost: 0,
      anchored: anchoring.batches,
      anchoredTwice: anchoring.anchoredTwice,
      notes:
        `${redeliveredWithDup} redelivered to ingest with DUP, ` +
        `${deviceTap.counts.up.dupPublishes} resent by the device with DUP, ` +
        `${retainedSeen} retained copies to a new session, 1 batch of ${BATCH} twice; ` +
        `/metrics: ${metrics.messages} duplicate messages, ${metrics.readings} ` +
        `duplicate readings`,
    });

    expect(storedBeforeCut).toBe(REDELIVERED);
    expect(redeliveredWithDup).toBe(REDELIVERED);
    expect(unackedAtCut).toBe(RESENT);
    expect(sessionResumed).toBe(true);
    expect(deviceTap.counts.up.dupPublishes).toBe(RESENT);
    expect(retainedSeen).toBe(2);
    expect(counts).toEqual({
      retained: { readings: 1, stored: 1, duplicate: 1, status: 0, retained: 1 },
      firmware: { readings: 1, stored: 1, duplicate: 0, status: 1, retained: 1 },
      redelivered: {
        readings: REDELIVERED,
        stored: REDELIVERED,
        duplicate: REDELIVERED,
        status: 0,
        retained: 0,
      },
      resent: {
        readings: RESENT,
        stored: RESENT,
        duplicate: RESENT,
        status: 0,
        retained: 0,
      },
      batch: { readings: BATCH, stored: 1, duplicate: 1, status: 0, retained: 0 },
    });
    // The second instance saw every copy; the firmware's retained one is no reading.
    expect(metrics).toEqual({
      messages: 1 + REDELIVERED + RESENT + 1,
      readings: 1 + REDELIVERED + RESENT + BATCH,
    });
    expect(anchoring.anchoredReadings).toBe(distinct);
    expect(anchoring).toMatchObject({
      anchoredTwice: 0,
      pinnedTwice: 0,
      unmatched: 0,
      orphans: 0,
    });
    expect(await alarmsBrief(rig.sql)).toEqual([]);
  }, 180_000);
});

/** The duplicate counters of a server's /metrics. */
async function metricsOf(server: ServerProcess) {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  const value = (name: string): number =>
    Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    messages: value('heru_messages_duplicate_total'),
    readings: value('heru_readings_duplicate_total'),
  };
}
