/**
 * Scenario 2: the broker is restarted (SIGTERM, so it saves its persistence, then
 * started again on the same port and files) in the middle of a 50,000-reading QoS 1
 * burst, while ingest is behind the publishers. Ingest must reconnect by itself into
 * its persistent session, say so in /health meanwhile, and store every reading the
 * broker accepted once; anchoring and the alarms follow as if nothing happened.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/app.js';
import { startBurst } from '../helpers/burst.js';
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
import { recordFigures } from './figures.js';

const BURST = { prefix: 'brk', devices: 10, perDevice: 5_000 };
const TOTAL = BURST.devices * BURST.perDevice;

describe('scenario 2: the broker restarted with its persistence during the burst', () => {
  const rig = useFaultRig('fault2');

  const count = async (where: string): Promise<number> => {
    const { rows } = await rig.sql.query<{ n: number }>(
      `select count(*)::int n from ${where}`,
    );
    return rows[0]!.n;
  };

  it('reconnects by itself, answers 503 while away, stores and anchors everything once', async () => {
    const server = await rig.server({
      clientId: 'heru-fault2-ingest',
      env: { ANCHOR_BATCH_WINDOW: '2', ANCHOR_RECONCILE_INTERVAL: '5' },
    });
    const burst = await startBurst({
      brokerUrl: rig.broker.url,
      devicePrefix: BURST.prefix,
      devices: BURST.devices,
      readingsPerDevice: BURST.perDevice,
      timeoutMs: 120_000,
      baseMs: Date.now() - 20 * 3600_000,
      temperature: warmSpell(1_000, 4_800),
    });
    rig.defer(() => burst.close());

    // Stop while the publishers are mid-burst and ingest is behind them, so the
    // broker must carry the ingest session's queue across its restart.
    await waitFor(
      () => Promise.resolve(burst.acked >= TOTAL / 3 ? true : undefined),
      60_000,
      'a third of the burst acknowledged',
    );
    const storedAtStop = await count('reading');
    const ackedAtStop = burst.acked;
    await rig.broker.stop();
    const away = await waitForHealth(server, 503);
    await rig.broker.start();
    const restartedAt = Date.now();
    const back = await waitForHealth(server, 200, 30_000);
    const reconnectS = (Date.now() - restartedAt) / 1000;
    await burst.done;
    await pollUntil(
      () => count('reading'),
      (n) => n >= TOTAL,
      120_000,
      `${TOTAL} stored readings`,
    );
    const recoveryS = (Date.now() - restartedAt) / 1000;

    const tally = await tallyBurst(rig.sql, BURST);
    const anchoring = await tallyLocalAnchoring(rig.sql, rig.dataDir);
    await untilEvaluated(rig.sql, BURST.prefix);
    const alarms = await alarmsBrief(rig.sql);
    const events = server.events();
    const connects = events.filter((e) => e.msg === 'mqtt connected');
    const absorbed = await count(`raw_message where outcome = 'duplicate'`);

    await recordFigures({
      scenario: '2 broker restart',
      sent: burst.acked,
      stored: tally.stored,
      duplicates: tally.duplicates,
      lost: tally.lost,
      recoverySeconds: recoveryS,
      anchored: anchoring.batches,
      anchoredTwice: anchoring.anchoredTwice,
      notes:
        `stopped at ${storedAtStop} stored / ${ackedAtStop} acked; ingest back ` +
        `${reconnectS.toFixed(1)} s after the broker; ${connects.length} connections; ` +
        `${absorbed} copies absorbed; ${alarms.length} alarm(s)`,
    });

    expect(storedAtStop).toBeLessThan(ackedAtStop);
    expect(ackedAtStop).toBeLessThan(TOTAL);
    expect(away.body.checks.mqtt?.status).toBe('failing');
    expect(away.body.checks.postgres?.status).toBe('ok');
    expect(back.body.checks.mqtt?.status).toBe('ok');
    expect(burst.acked).toBe(TOTAL);
    expectWhole(tally, anchoring, TOTAL);
    // The same process all along, back in the session it had.
    expect(server.run).toBe(1);
    expect(events.some((e) => e.msg === 'mqtt connection lost')).toBe(true);
    expect(connects.length).toBeGreaterThanOrEqual(2);
    expect(connects.at(-1)?.sessionPresent).toBe(true);
    expect(alarms).toEqual([historicalHeat(`${BURST.prefix}-0`)]);
  }, 300_000);
});
