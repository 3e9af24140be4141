import type { FastifyInstance } from 'fastify';
import { getDevice, listDevices } from '../../db/devices.js';
import type { Pool } from '../../db/pool.js';
import { getReading, listReadings } from '../../db/readings.js';
import { ApiError } from '../errors.js';
import { parseReadingsQuery, encodeCursor } from './readingsQuery.js';

/** `/api/v1/devices`, `/api/v1/devices/{id}/readings` and `/api/v1/readings/{id}`. */
export function deviceRoutes(app: FastifyInstance, pool: Pool): void {
  app.get('/api/v1/devices', async () => ({ devices: await listDevices(pool) }));

  app.get<{ Params: { id: string } }>('/api/v1/devices/:id', async (req) => {
    const device = await getDevice(pool, req.params.id);
    if (!device)
      throw new ApiError(
        'DEVICE_NOT_FOUND',
        `No device ${JSON.stringify(req.params.id)}.`,
      );
    return device;
  });

  app.get<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>(
    '/api/v1/devices/:id/readings',
    async (req) => {
      const q = parseReadingsQuery(req.params.id, req.query, new Date());
      if (!(await getDevice(pool, q.deviceId))) {
        throw new ApiError(
          'DEVICE_NOT_FOUND',
          `No device ${JSON.stringify(q.deviceId)}.`,
        );
      }
      const readings = await listReadings(pool, q);
      const last = readings.at(-1);
      const next =
        readings.length === q.limit && last ? encodeCursor(last.time, last.id) : null;
      return { device_id: q.deviceId, from: q.from, to: q.to, readings, next };
    },
  );

  app.get<{ Params: { id: string } }>('/api/v1/readings/:id', async (req) => {
    if (!/^\d{1,18}$/.test(req.params.id)) {
      throw new ApiError('BAD_REQUEST', 'A reading id is a whole number.');
    }
    const reading = await getReading(pool, req.params.id);
    if (!reading) throw new ApiError('READING_NOT_FOUND', `No reading ${req.params.id}.`);
    return reading;
  });
}
