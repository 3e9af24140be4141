/**
 * The dashboard's SQL (fleet, sparklines, series buckets) on the embedded PGlite, the
 * database `npm start` uses when DATABASE_URL is not set, through the same wire
 * protocol server the embedded mode runs.
 */
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDeviceProfile } from '../src/alarms/profileStore.js';
import { loadFleet } from '../src/dashboard/fleet.js';
import { loadSeries } from '../src/dashboard/series.js';
import { SparkCache } from '../src/dashboard/sparkCache.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { PgliteWireServer } from '../src/embedded/pgWire.js';
import { createLogger } from '../src/log.js';
import { seedFleet } from './helpers/dashboardSeed.js';

const log = createLogger('silent');
let db: PGlite;
let wire: PgliteWireServer;
let pool: Pool;

beforeAll(async () => {
  db = await PGlite.create();
  wire = new PgliteWireServer(db, log);
  const port = await wire.listen(0);
  pool = createPool(new URL(`postgres://postgres@127.0.0.1:${port}/postgres`), log, {
    max: 2,
  });
  await migrate(pool, log);
  await seedFleet(
    pool,
    [{ id: 'p-ok' }, { id: 'p-warm', warm: [0.3, 0] }, { id: 'p-gap', gap: [5, 3] }],
    { hours: 24, everyS: 120 },
  );
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await wire?.close();
  await db?.close();
});

describe('the dashboard on the embedded PGlite', () => {
  it('loads the fleet worst first with its sparklines, with and without the cache', async () => {
    const plain = await loadFleet(pool);
    const cached = await loadFleet(pool, { sparks: new SparkCache(pool) });
    for (const fleet of [plain, cached]) {
      expect(fleet.devices.map((d) => [d.device_id, d.status])).toEqual([
        ['p-warm', 'out_of_range'],
        ['p-gap', 'in_range'],
        ['p-ok', 'in_range'],
      ]);
      const ok = fleet.devices.find((d) => d.device_id === 'p-ok')!;
      expect(ok.spark.filter((v) => v !== null).length).toBeGreaterThanOrEqual(47);
    }
    expect(cached.devices.map((d) => d.spark)).toEqual(plain.devices.map((d) => d.spark));
  });

  it('aggregates a series into buckets and finds its gap', async () => {
    const rules = (await getDeviceProfile(pool, 'p-gap'))!.profile.rules;
    const now = new Date();
    const s = await loadSeries(
      pool,
      {
        deviceId: 'p-gap',
        sensor: '',
        from: new Date(now.getTime() - 24 * 3600_000),
        to: now,
        points: 100,
      },
      rules,
      now,
    );
    expect(s.resolution).toBe('bucket');
    expect(s.t.length).toBeLessThanOrEqual(100);
    expect(s.gaps).toHaveLength(1);
  });
});
