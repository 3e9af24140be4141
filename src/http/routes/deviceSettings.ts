import type { FastifyInstance } from 'fastify';
import { actor, bodyObject, InputError } from '../../alarms/input.js';
import { getDevice } from '../../db/devices.js';
import { getDeviceStatus } from '../../db/deviceStatus.js';
import type { Pool } from '../../db/pool.js';
import { isValidDeviceId } from '../../ingest/deviceId.js';
import {
  getDeviceSetting,
  parseDeviceSetting,
  putDeviceSetting,
} from '../../mappings/deviceSettingStore.js';
import { MappingError } from '../../mappings/mappingError.js';
import { actingAs } from '../actingAs.js';
import { ApiError } from '../errors.js';

/**
 * What an operator sets for a device and what the device says of itself:
 * `GET|PUT /api/v1/devices/{id}/settings` (time zone, unit, sensor kinds; see
 * docs/firmwares.md) and `GET /api/v1/devices/{id}/status` (online, Wi-Fi signal).
 */
export function deviceSettingRoutes(app: FastifyInstance, pool: Pool): void {
  app.get<{ Params: { id: string } }>('/api/v1/devices/:id/settings', async (req) => {
    const id = deviceId(req.params.id);
    return (
      (await getDeviceSetting(pool, id)) ?? {
        device_id: id,
        time_zone: null,
        unit: null,
        sensor_kinds: {},
        updated_at: null,
        updated_by: null,
      }
    );
  });

  app.put<{ Params: { id: string } }>('/api/v1/devices/:id/settings', async (req) => {
    const id = deviceId(req.params.id);
    const input = guard(() => {
      const o = bodyObject(
        actingAs(req),
        '{"time_zone": "Europe/Berlin", "sensor_kinds": {"probe_a": "temperature"}, "by": "ops"}',
      );
      return { settings: parseDeviceSetting(o), by: actor(o) };
    });
    const stored = await putDeviceSetting(pool, id, input.settings, input.by);
    req.log.info({ deviceId: id, by: input.by }, 'device settings saved');
    return stored;
  });

  app.get<{ Params: { id: string } }>('/api/v1/devices/:id/status', async (req) => {
    const id = deviceId(req.params.id);
    const status = await getDeviceStatus(pool, id);
    if (status) return status;
    if (!(await getDevice(pool, id)))
      throw new ApiError('DEVICE_NOT_FOUND', `No device ${JSON.stringify(id)}.`);
    return {
      device_id: id,
      online: null,
      online_at: null,
      rssi_dbm: null,
      rssi_at: null,
    };
  });
}

function deviceId(id: string): string {
  if (isValidDeviceId(id)) return id;
  throw new ApiError(
    'BAD_REQUEST',
    'A device id is 1–64 of A-Z, a-z, 0-9, ".", "_", ":" and "-".',
  );
}

function guard<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof MappingError)
      throw new ApiError('BAD_REQUEST', `The settings are not valid: ${err.message}.`);
    if (err instanceof InputError) throw new ApiError('BAD_REQUEST', err.message);
    throw err;
  }
}
