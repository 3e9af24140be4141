/**
 * Scenario 3: PostgreSQL itself is stopped (`pg_ctl stop -m fast`) for 60 seconds
 * while a paced publisher keeps sending, then started again. Ingest must stop
 * acknowledging (the PUBACKs it sends are counted on the wire by a tap between it and
 * the broker), answer 503 from /health all along, hold a bounded number of messages
 * in memory, and catch up by itself once PostgreSQL is back: every reading stored
 * once, anchored once, one operator alarm for the gap in monitoring and the
 * excursion the readings hold.
 */
import { describe, expect, it } from 'vitest';
import { statusKb } from '../../bench/procStats.js';
import { waitFor } from '../helpers/app.js';
import { startBurst } from '../helpers/burst.js';
import { RssSampler } from '../helpers/deviceFlush.js';
import { pollUntil } from '../helpers/exactlyOnce.js';
import { useFaultRig } from '../helpers/faultRig.js';
import {
  alarmsBrief,
  expectWhole,
  historicalHeat,
  tallyBurst,
  tallyLocalAnchoring,
  untilEvaluated,
  warmSpell,
} from '../helpers/faultTally.js';
import { waitForHealth } from '../helpers/health.js';
import { MqttTap } from '../helpers/mqttTap.js';
import type { HealthAnswer, ServerProcess } from '../helpers/serverProcess.js';
import { recordFigures } from './figures.js';

const BURST = { prefix: 'pgdown', devices: 8, perDevice: 5_000 };
const TOTAL = BURST.devices * BURST.perDevice;
/** 80 seconds of publishing: 10 before the stop, 60 down, 10 after. */
const RATE = 500;
const OUTAGE_MS = 60_000;
/** Messages the pipeline holds at most with the default settings (pipeline.ts). */
const MAX_HELD = 20_000;
/**
 * Unacknowledged messages the broker may send ingest (MQTT_RECEIVE_MAXIMUM, default
 * 1000): with ingest acknowledging nothing, this is what it can hold.
 */
const RECEIVE_MAXIMUM = 1_000;
/** Resident memory of the whole server (ingest, worker, API) must stay below this. */
const RSS_LIMIT_KB = 400 * 1024;

describe('scenario 3: PostgreSQL stopped for 60 s under load', () => {
  const rig = useFaultRig('fault3', { ownPostgres: true });

  const stored = async (): Promise<number> => {
    const { rows } = await rig.sql.query<{ n: number }>(
      'select count(*)::int n from reading',
    );
    return rows[0]!.n;
  };

  it('stops acknowledging, says so, stays bounded, and catches up by itself', async () => {
    const tap = await MqttTap.start(rig.broker.port);
    rig.defer(() => tap.close());
    const server = await rig.server({
      clientId: 'heru-fault3-ingest',
      mqttUrl: tap.url,
      env: {
        ANCHOR_BATCH_WINDOW: '2',
        ANCHOR_RECONCILE_INTERVAL: '5',
        // One operator alarm for an outage of more than 30 s, checked every 5 s.
        ALARM_WATCHDOG_INTERVAL: '5',
        ALARM_OUTAGE_AFTER: '30',
      },
    });
    const rss = (): RssSampler => {
      const r = new RssSampler(
        () => server.pid,
        (pid) => statusKb(pid, 'VmRSS'),
      );
      r.start(500);
      return r;
    };
    const rssBefore = rss();
    const burst = await startBurst({
      brokerUrl: rig.broker.url,
      devicePrefix: BURST.prefix,
      devices: BURST.devices,
      readingsPerDevice: BURST.perDevice,
      ratePerSecond: RATE,
      timeoutMs: 240_000,
      baseMs: Date.now() - 20 * 3600_000,
      // Device 0 at 9 °C for 62 minutes, across the outage.
      temperature: warmSpell(200, 3_900),
    });
    rig.defer(() => burst.close());

    await waitFor(
      async () => ((await stored()) >= 4_000 ? true : undefined),
      60_000,
      'ingest under way',
    );
    await rig.postgres!.stop();
    const stoppedAt = Date.now();
    rssBefore.stop();
    const rssDown = rss();
    const firstDown = await waitForHealth(server, 503, 15_000);
    const acksAtStop = tap.counts.up.pubacks;
    const down = await watchOutage(server, tap, stoppedAt + OUTAGE_MS);
    const publishedWhileDown = burst.acked;

    await rig.postgres!.start();
    const startedAt = Date.now();
    rssDown.stop();
    const rssAfter = rss();
    const healthy = await waitForHealth(server, 200, 60_000);
    const healthyS = (Date.now() - startedAt) / 1000;
    await burst.done;
    await pollUntil(stored, (n) => n >= TOTAL, 120_000, `${TOTAL} stored readings`);
    const caughtUpS = (Date.now() - startedAt) / 1000;
    rssAfter.stop();

    const tally = await tallyBurst(rig.sql, BURST);
    const anchoring = await tallyLocalAnchoring(rig.sql, rig.dataDir);
    await untilEvaluated(rig.sql, BURST.prefix);
    const alarms = await alarmsBrief(rig.sql);
    const { rows } = await rig.sql.query<{ n: number }>(
      'select count(*)::int n from raw_message',
    );
    const rawMessages = rows[0]!.n;
    const mb = (r: RssSampler): string => (r.maxKb / 1024).toFixed(0);

    await recordFigures({
      scenario: '3 PostgreSQL down 60 s',
      sent: burst.acked,
      stored: tally.stored,
      duplicates: tally.duplicates,
      lost: tally.lost,
      recoverySeconds: caughtUpS,
      anchored: anchoring.batches,
      anchoredTwice: anchoring.anchoredTwice,
      notes:
        `${acksAtStop} PUBACKs before the stop, ` +
        `${down.maxAcks - acksAtStop} while down ` +
        `(${publishedWhileDown} published by then); /health 503 in ${down.unhealthy} of ` +
        `${down.samples} samples; at most ${down.maxPending} held (window ` +
        `${RECEIVE_MAXIMUM}); ` +
        `RSS max ${mb(rssBefore)}/${mb(rssDown)}/${mb(rssAfter)} MB before/down/after; ` +
        `healthy ${healthyS.toFixed(1)} s after the start; ${alarms.length} alarms`,
    });

    // Not one acknowledgement while PostgreSQL was down, and /health said why.
    expect(firstDown.body.checks.postgres?.status).toBe('failing');
    expect(down.maxAcks).toBe(acksAtStop);
    expect(down.samples).toBeGreaterThan(10);
    expect(down.statuses).toEqual([503]);
    expect(down.postgres).toEqual(['failing']);
    expect(down.mqtt).toEqual(['ok']);
    // More waited than even the pipeline's own limit would have let in.
    expect(publishedWhileDown - acksAtStop).toBeGreaterThan(MAX_HELD);
    // Bounded: the broker sends no more than the window; it kept the rest.
    expect(down.maxPending).toBeGreaterThan(0);
    expect(down.maxPending).toBeLessThanOrEqual(RECEIVE_MAXIMUM);
    expect(Math.max(rssBefore.maxKb, rssDown.maxKb, rssAfter.maxKb)).toBeLessThan(
      RSS_LIMIT_KB,
    );
    // Back by itself: the same process and connection, each message acknowledged once.
    expect(healthy.body.checks.postgres?.status).toBe('ok');
    expect(server.run).toBe(1);
    expect(tap.connections).toBe(1);
    expect(server.events().some((e) => e.msg === 'ingest commits resumed')).toBe(true);
    expect(burst.acked).toBe(TOTAL);
    expect(rawMessages).toBe(TOTAL);
    expect(tap.counts.up.pubacks).toBe(TOTAL);
    expectWhole(tally, anchoring, TOTAL);
    expect(alarms).toEqual([
      {
        device: null,
        rule: 'monitoring_gap',
        kind: 'operator',
        historical: false,
        state: 'cleared',
      },
      historicalHeat(`${BURST.prefix}-0`),
    ]);
  }, 400_000);
});

interface OutageWatch {
  /** Samples taken, and those answered 503. */
  samples: number;
  unhealthy: number;
  /** Distinct answers seen: HTTP statuses, and the postgres and mqtt entries. */
  statuses: number[];
  postgres: string[];
  mqtt: string[];
  maxPending: number;
  /** Most PUBACKs ingest had sent at any sample. */
  maxAcks: number;
}

/** Asks /health and counts PUBACKs every 500 ms until `until` (ms since 1970). */
async function watchOutage(
  server: ServerProcess,
  tap: MqttTap,
  until: number,
): Promise<OutageWatch> {
  const seen = { statuses: new Set<number>(), postgres: new Set<string>() };
  const mqtt = new Set<string>();
  let samples = 0;
  let unhealthy = 0;
  let maxPending = 0;
  let maxAcks = 0;
  while (Date.now() < until) {
    const h: HealthAnswer = await server.health();
    samples += 1;
    if (h.status === 503) unhealthy += 1;
    seen.statuses.add(h.status);
    seen.postgres.add(String(h.body.checks.postgres?.status));
    mqtt.add(String(h.body.checks.mqtt?.status));
    maxPending = Math.max(maxPending, Number(h.body.checks.ingest?.pending ?? 0));
    maxAcks = Math.max(maxAcks, tap.counts.up.pubacks);
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    samples,
    unhealthy,
    statuses: [...seen.statuses],
    postgres: [...seen.postgres],
    mqtt: [...mqtt],
    maxPending,
    maxAcks,
  };
}
