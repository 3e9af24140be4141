/**
 * Scale out: two ingest instances (`heru ingest`, two processes) share the readings
 * through an MQTT shared subscription (`MQTT_SHARED_GROUP`), each with its own client
 * id and persistent session, on a Mosquitto of the test's own. In the middle of a
 * burst one of them is killed with SIGKILL; the other goes on. The broker holds what
 * it had sent, or goes on sending, to the dead one's session: that instance is
 * started again with its client id, as its supervisor would. Nothing may be lost or
 * stored twice, and everything is anchored once (one worker, on Redis).
 */
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startBurst } from '../helpers/burst.js';
import { pollUntil } from '../helpers/exactlyOnce.js';
import { useFaultRig } from '../helpers/faultRig.js';
import { expectWhole, tallyBurst, tallyLocalAnchoring } from '../helpers/faultTally.js';
import { OwnRedis } from '../helpers/ownRedis.js';
import type { ServerProcess } from '../helpers/serverProcess.js';
import { recordFigures } from './figures.js';

const BURST = { prefix: 'si', devices: 10, perDevice: 3_000 };
const TOTAL = BURST.devices * BURST.perDevice;

/** Messages an ingest process has taken from the broker, from its /metrics. */
async function received(server: ServerProcess): Promise<number> {
  const res = await fetch(`${server.baseUrl}/metrics`, {
    signal: AbortSignal.timeout(5_000),
  });
  const m = /^heru_messages_received_total(?:\{[^}]*\})? (\d+)/m.exec(await res.text());
  return m ? Number(m[1]) : 0;
}

async function storedCount(sql: pg.Pool): Promise<number> {
  const { rows } = await sql.query<{ n: number }>(
    'select count(*)::int as n from reading',
  );
  return rows[0]!.n;
}

describe('scale out: two ingest instances on one shared subscription', () => {
  const rig = useFaultRig('scale-ingest');

  it('loses nothing and stores nothing twice when one is killed', async () => {
    const redis = await OwnRedis.start();
    rig.defer(() => redis.stop());
    const env = { REDIS_URL: redis.url, MQTT_SHARED_GROUP: 'heru-ingest' };
    const a = await rig.server({ clientId: 'heru-si-a', command: 'ingest', env });
    const b = await rig.server({ clientId: 'heru-si-b', command: 'ingest', env });
    await rig.server({ clientId: 'heru-si-worker', command: 'worker', env });

    const burst = await startBurst({
      brokerUrl: rig.broker.url,
      devicePrefix: BURST.prefix,
      devices: BURST.devices,
      readingsPerDevice: BURST.perDevice,
      timeoutMs: 120_000,
    });
    rig.defer(() => burst.close());
    // Both take their share before one dies.
    const shares = await pollUntil(
      async () => [await received(a), await received(b)],
      ([x, y]) => x! >= 2_000 && y! >= 2_000,
      60_000,
      'both instances taking messages',
      100,
    );
    await a.kill();
    const killedAt = Date.now();
    const receivedByBAtKill = await received(b);
    await burst.done;

    // With one instance gone, what the broker put in its session waits there.
    const withOne = await pollUntil(
      async () => ({ stored: await storedCount(rig.sql), at: Date.now() }),
      (() => {
        let last = -1;
        let since = Date.now();
        return (s: { stored: number; at: number }) => {
          if (s.stored !== last) [last, since] = [s.stored, s.at];
          return s.stored >= TOTAL || s.at - since >= 5_000;
        };
      })(),
      120_000,
      'the stored count to settle with one instance',
    );
    const receivedByB = (await received(b)) - receivedByBAtKill;
    await a.start();
    const stored = await pollUntil(
      () => storedCount(rig.sql),
      (n) => n >= TOTAL,
      120_000,
      `${TOTAL} stored readings`,
    );
    const recoveryS = (Date.now() - killedAt) / 1000;
    const resumed = a.events().find((e) => e.msg === 'mqtt connected');
    const tally = await tallyBurst(rig.sql, BURST);
    const anchoring = await tallyLocalAnchoring(rig.sql, rig.dataDir);

    await recordFigures({
      scenario: 'scale: 2 ingest shared',
      sent: burst.acked,
      stored: tally.stored,
      duplicates: tally.duplicates,
      lost: tally.lost,
      recoverySeconds: recoveryS,
      anchored: anchoring.batches,
      anchoredTwice: anchoring.anchoredTwice,
      notes:
        `before the kill a took ${shares[0]} messages, b ${shares[1]}; after it b took ` +
        `${receivedByB}; ${TOTAL - withOne.stored} waited in a's session until it ` +
        `came back; ${stored} stored`,
    });

    expectWhole(tally, anchoring, TOTAL);
    expect(resumed?.sessionPresent).toBe(true);
    expect(receivedByB).toBeGreaterThan(0);
  }, 600_000);
});
