/**
 * The sparklines' past half hours kept in memory (src/dashboard/sparkCache.ts) give
 * the same fleet as reading every reading of the day again: after the first read, when
 * the window moves on, for a device registered since, after late readings; and a
 * dashboard opened during the first read gets every tile again once it is done.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet, type Fleet, type FleetTile } from '../src/dashboard/fleet.js';
import { FleetWatch, type FleetEvent } from '../src/dashboard/fleetWatch.js';
import { SparkCache, sparkWindow } from '../src/dashboard/sparkCache.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { waitFor } from './helpers/app.js';
import { seedFleet } from './helpers/dashboardSeed.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const log = createLogger('silent');
const HALF_HOUR = 1800_000;
const HOUR = 3600_000;
let db: TestDatabase;
let pool: Pool;
/** Twenty minutes into a half hour that is over: every load of this file is at it. */
const T = new Date(Math.floor(Date.now() / HALF_HOUR) * HALF_HOUR - 10 * 60_000);

beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPool(db.url, log, { max: 4 });
  await migrate(pool, log);
  await seedFleet(
    pool,
    [{ id: 's-ok' }, { id: 's-warm', warm: [0.3, 0] }, { id: 's-gap', gap: [6, 3] }],
    { hours: 24, everyS: 60, now: T },
  );
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const sparks = (f: Fleet): Array<[string, Array<number | null>]> =>
  f.devices.map((t) => [t.device_id, t.spark]);

describe('the sparklines kept in memory', () => {
  it('show the current half hour while the past is read, then the same as a fresh query', async () => {
    const cache = new SparkCache(pool);
    const { from, open } = sparkWindow(T);
    cache.warm(from, open);

    const partial = await loadFleet(pool, { now: T, sparks: cache, partial: true });
    expect(partial.spark.complete).toBe(false);
    for (const t of partial.devices) {
      expect(t.spark.slice(0, 47).every((v) => v === null)).toBe(true);
      expect(t.spark[47]).not.toBeNull();
    }

    await cache.idle();
    const cached = await loadFleet(pool, { now: T, sparks: cache, partial: true });
    const fresh = await loadFleet(pool, { now: T });
    expect(cached.spark.complete).toBe(true);
    expect(sparks(cached)).toEqual(sparks(fresh));
    expect(cached.devices.find((t) => t.device_id === 's-ok')!.spark).not.toContain(null);
  });

  it('read the half hours that closed when the window moves on, and match a fresh query', async () => {
    const cache = new SparkCache(pool);
    await loadFleet(pool, { now: T, sparks: cache });
    const later = new Date(T.getTime() + HOUR);
    await seedFleet(pool, [{ id: 's-ok' }, { id: 's-warm', warm: [1.3, 1] }], {
      hours: 59 / 60,
      everyS: 60,
      now: later,
    });

    const cached = await loadFleet(pool, { now: later, sparks: cache });
    const fresh = await loadFleet(pool, { now: later });
    expect(cached.spark.from.getTime()).toBe(T.getTime() - 45 * HALF_HOUR - 20 * 60_000);
    expect(sparks(cached)).toEqual(sparks(fresh));
  });

  it('read a device registered since the last read, at the next load', async () => {
    const cache = new SparkCache(pool);
    await loadFleet(pool, { now: T, sparks: cache });
    await seedFleet(pool, [{ id: 's-new' }], { hours: 24, everyS: 300, now: T });

    const cached = await loadFleet(pool, { now: T, sparks: cache });
    const fresh = await loadFleet(pool, { now: T });
    const tile = cached.devices.find((t) => t.device_id === 's-new')!;
    expect(tile.spark.filter((v) => v !== null).length).toBeGreaterThan(40);
    expect(sparks(cached)).toEqual(sparks(fresh));
  });

  it('take late readings of a past half hour at the refresh, without a load waiting for it', async () => {
    const cache = new SparkCache(pool, { refreshMs: 0 });
    const before = await loadFleet(pool, { now: T, sparks: cache });
    const at = new Date(T.getTime() - 5 * HOUR);
    await pool.query(
      `insert into reading (device_id, time, time_source, received_at, temperature_c,
                            quality, raw_message_id)
       values ('s-ok', $1, 'device', now(), 40, 'good', 0)`,
      [at],
    );

    // The refresh is under way; this load is answered with what was known.
    const during = await loadFleet(pool, { now: T, sparks: cache });
    expect(sparks(during)).toEqual(sparks(before));
    await cache.idle();
    const after = await loadFleet(pool, { now: T, sparks: cache });
    const fresh = await loadFleet(pool, { now: T });
    expect(sparks(after)).toEqual(sparks(fresh));
    expect(sparks(after)).not.toEqual(sparks(before));
  });
});

describe('a dashboard opened while the past is read', () => {
  it('gets the tiles at once, then every tile again with its whole sparkline', async () => {
    const watch = new FleetWatch(pool, log, { intervalMs: 100 });
    try {
      watch.warm();
      const first = await watch.snapshot({ partial: true });
      expect(first.spark.complete).toBe(false);

      const has = new Map<string, FleetTile>(first.devices.map((t) => [t.device_id, t]));
      const events: FleetEvent[] = [];
      const stop = watch.subscribe(first, (e) => events.push(e));
      const done = await waitFor(
        () =>
          Promise.resolve(
            events.find((e) => e.type === 'tiles' && e.spark_complete) as
              Extract<FleetEvent, { type: 'tiles' }> | undefined,
          ),
        20_000,
        'tiles with their whole sparklines',
      );
      stop();
      for (const e of events.slice(0, events.indexOf(done) + 1)) {
        if (e.type === 'tiles') for (const t of e.tiles) has.set(t.device_id, t);
      }

      const fresh = await loadFleet(pool, { now: done.at });
      expect(
        fresh.devices.map((t) => [t.device_id, has.get(t.device_id)?.spark]),
      ).toEqual(sparks(fresh));
      // An API client is never given a partial fleet.
      expect((await watch.snapshot()).spark.complete).toBe(true);
    } finally {
      await watch.close();
    }
  });
});
