/**
 * Scenario 1: the server (every role, as `heru serve` runs) is killed with SIGKILL in
 * the middle of a 50,000-reading QoS 1 burst and started again. Every reading the
 * broker acknowledged to the publishers must be stored once and anchored once, and
 * the one warm spell the burst holds must give exactly one historical excursion.
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
import { recordFigures } from './figures.js';

const BURST = { prefix: 'kill', devices: 10, perDevice: 5_000 };
const TOTAL = BURST.devices * BURST.perDevice;
/** Readings stored before the kill: well into the burst, far from its end. */
const KILL_AFTER = 5_000;

describe('scenario 1: ingest killed with SIGKILL during a 50,000-reading QoS 1 burst', () => {
  const rig = useFaultRig('fault1');

  const count = async (where: string): Promise<number> => {
    const { rows } = await rig.sql.query<{ n: number }>(
      `select count(*)::int n from ${where}`,
    );
    return rows[0]!.n;
  };

  it('stores and anchors every acknowledged reading once after a restart, with one alarm', async () => {
    const server = await rig.server({
      clientId: 'heru-fault1-ingest',
      env: { ANCHOR_BATCH_WINDOW: '2', ANCHOR_RECONCILE_INTERVAL: '5' },
    });
    const burst = await startBurst({
      brokerUrl: rig.broker.url,
      devicePrefix: BURST.prefix,
      devices: BURST.devices,
      readingsPerDevice: BURST.perDevice,
      timeoutMs: 120_000,
      // Within the last day, so that readings stored and not yet evaluated when the
      // process dies are evaluated at the next start.
      baseMs: Date.now() - 20 * 3600_000,
      // Device 0 at 9 °C for 63 minutes.
      temperature: warmSpell(1_000, 4_800),
    });
    rig.defer(() => burst.close());

    const storedAtKill = await waitFor(
      async () => {
        const n = await count('reading');
        return n >= KILL_AFTER ? n : undefined;
      },
      60_000,
      `${KILL_AFTER} stored readings`,
    );
    await server.kill();
    const killedAt = Date.now();
    const ackedAtKill = burst.acked;
    await server.start();
    const restartS = (Date.now() - killedAt) / 1000;
    await burst.done;
    await pollUntil(
      () => count('reading'),
      (n) => n >= TOTAL,
      120_000,
      `${TOTAL} stored readings`,
    );
    const recoveryS = (Date.now() - killedAt) / 1000;

    const tally = await tallyBurst(rig.sql, BURST);
    const anchoring = await tallyLocalAnchoring(rig.sql, rig.dataDir);
    await untilEvaluated(rig.sql, BURST.prefix);
    const alarms = await alarmsBrief(rig.sql);
    const absorbed = await count(`raw_message where outcome = 'duplicate'`);
    const resumed = server.events().find((e) => e.msg === 'mqtt connected');

    await recordFigures({
      scenario: '1 ingest SIGKILL',
      sent: burst.acked,
      stored: tally.stored,
      duplicates: tally.duplicates,
      lost: tally.lost,
      recoverySeconds: recoveryS,
      anchored: anchoring.batches,
      anchoredTwice: anchoring.anchoredTwice,
      notes:
        `killed at ${storedAtKill} stored / ${ackedAtKill} acked by the broker; ` +
        `ready again ${restartS.toFixed(1)} s after the kill; ${absorbed} ` +
        `redelivered copies absorbed; ${alarms.length} alarm(s)`,
    });

    expect(storedAtKill).toBeLessThan(ackedAtKill);
    expect(burst.acked).toBe(TOTAL);
    expectWhole(tally, anchoring, TOTAL);
    expect(await readingsWithoutTheirRawMessage()).toBe(0);
    expect(await count(`raw_message where outcome = 'stored'`)).toBe(TOTAL);
    expect(await count(`raw_message where outcome = 'quarantined'`)).toBe(0);
    expect(resumed?.sessionPresent).toBe(true);
    expect(alarms).toEqual([historicalHeat(`${BURST.prefix}-0`)]);
    // And the way an operator stops it: SIGTERM drains and exits 0.
    expect(await server.stop()).toBe(0);
  }, 300_000);

  /** Readings whose raw message is missing or holds another reading's bytes. */
  async function readingsWithoutTheirRawMessage(): Promise<number> {
    return count(
      `reading r left join raw_message m on m.id = r.raw_message_id
       where m.id is null
          or convert_from(m.payload, 'UTF8')::jsonb ->> 'seq' <> r.seq::text
          or m.topic <> 'heru/v1/devices/' || r.device_id || '/readings'`,
    );
  }
});
