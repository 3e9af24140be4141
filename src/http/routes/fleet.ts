import type { FastifyInstance } from 'fastify';
import { getDeviceProfile } from '../../alarms/profileStore.js';
import type { FleetWatch } from '../../dashboard/fleetWatch.js';
import { loadSeries, type SeriesQuery } from '../../dashboard/series.js';
import { getDevice } from '../../db/devices.js';
import type { Pool } from '../../db/pool.js';
import { ApiError } from '../errors.js';
import { queryTime } from '../queryTime.js';

type Query = Record<string, string | undefined>;

const DAY_MS = 86_400_000;
const DEFAULT_POINTS = 600;
const MAX_POINTS = 5000;
const MAX_SPAN_DAYS = 400;

/**
 * What the dashboard reads besides the plain API: `GET /api/v1/session` (who the
 * token is), `GET /api/v1/fleet` (every device as a tile, worst first) and
 * `GET /api/v1/devices/{id}/series?from=&to=&points=&sensor=` (readings, or time
 * buckets aggregated in SQL when there are more than `points`). When the server is
 * ready, the sparklines' past day is read in the background, so that the first visitor
 * does not wait for it.
 */
export function fleetRoutes(app: FastifyInstance, pool: Pool, watch: FleetWatch): void {
  app.get('/api/v1/session', (req, reply) => {
    const p = req.principal!;
    return reply.send({ token_id: p.tokenId, name: p.name, role: p.role });
  });

  app.addHook('onReady', (done) => {
    watch.warm();
    done();
  });

  app.get('/api/v1/fleet', async () => watch.snapshot());

  app.get<{ Params: { id: string }; Querystring: Query }>(
    '/api/v1/devices/:id/series',
    async (req) => {
      const q = parseSeriesQuery(req.params.id, req.query, new Date());
      if (!(await getDevice(pool, q.deviceId))) {
        throw new ApiError(
          'DEVICE_NOT_FOUND',
          `No device ${JSON.stringify(q.deviceId)}.`,
        );
      }
      const dp = (await getDeviceProfile(pool, q.deviceId))!;
      return loadSeries(pool, q, dp.profile.rules, new Date());
    },
  );
}

/**
 * `from` and `to` are ISO 8601 times (default the last 24 hours, at most 400 days
 * apart), `points` 10 to 5,000 (default 600), `sensor` a probe ('' by default).
 */
export function parseSeriesQuery(deviceId: string, q: Query, now: Date): SeriesQuery {
  const to = queryTime(q.to, 'to') ?? now;
  const from = queryTime(q.from, 'from') ?? new Date(to.getTime() - DAY_MS);
  if (from >= to) throw new ApiError('BAD_REQUEST', '`from` must be before `to`.');
  if (to.getTime() - from.getTime() > MAX_SPAN_DAYS * DAY_MS) {
    throw new ApiError(
      'BAD_REQUEST',
      `A series covers at most ${MAX_SPAN_DAYS} days; ask for a shorter range.`,
    );
  }
  const points = q.points === undefined ? DEFAULT_POINTS : Number(q.points);
  if (!Number.isInteger(points) || points < 10 || points > MAX_POINTS) {
    throw new ApiError(
      'BAD_REQUEST',
      `\`points\` must be a whole number from 10 to ${MAX_POINTS}.`,
    );
  }
  return { deviceId, sensor: q.sensor ?? '', from, to, points };
}
