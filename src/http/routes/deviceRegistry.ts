import type { FastifyInstance } from 'fastify';
import { InputError } from '../../alarms/input.js';
import { getProfile, setDeviceProfile } from '../../alarms/profileStore.js';
import type { Pool } from '../../db/pool.js';
import { isValidDeviceId } from '../../ingest/deviceId.js';
import { parsePatch, parseRegistration } from '../../devices/registration.js';
import {
  listDeviceChanges,
  registerDevice,
  updateDevice,
} from '../../devices/registryStore.js';
import { actingAs } from '../actingAs.js';
import { ApiError } from '../errors.js';

/**
 * The device registry: `POST /api/v1/devices` registers a device (or the device
 * ingest already saw), `PATCH /api/v1/devices/{id}` changes its status, site,
 * credentials or certificate fingerprint, `GET /api/v1/devices/{id}/changes` lists who
 * changed what. `GET /api/v1/devices` (devices.ts) shows the registry fields.
 *
 * Certificates and passwords are not handed out here: private keys and passwords
 * are made by `heru pki device` and `heru device add --password` on the broker's host.
 */
export function deviceRegistryRoutes(app: FastifyInstance, pool: Pool): void {
  app.post('/api/v1/devices', async (req, reply) => {
    const r = input(() => parseRegistration(actingAs(req)));
    if (r.profile !== undefined && !(await getProfile(pool, r.profile))) {
      throw new ApiError('PROFILE_NOT_FOUND', `No profile ${JSON.stringify(r.profile)}.`);
    }
    const result = await registerDevice(pool, r);
    if (result.outcome === 'already_registered') {
      throw new ApiError(
        'DEVICE_ALREADY_REGISTERED',
        `Device ${r.deviceId} was registered on ${result.row.registered_at?.toISOString() ?? '?'} by ${result.row.registered_by ?? '?'}; change it with PATCH /api/v1/devices/${r.deviceId}.`,
      );
    }
    if (r.profile !== undefined)
      await setDeviceProfile(pool, r.deviceId, r.profile, r.by, r.comment);
    req.log.info({ deviceId: r.deviceId, by: r.by }, 'device registered');
    return reply.code(201).send({ ...result.row, profile: r.profile ?? null });
  });

  app.patch<{ Params: { id: string } }>('/api/v1/devices/:id', async (req) => {
    const id = deviceId(req.params.id);
    const patch = input(() => parsePatch(actingAs(req)));
    const row = await updateDevice(pool, id, patch);
    if (!row) throw new ApiError('DEVICE_NOT_FOUND', `No device ${JSON.stringify(id)}.`);
    req.log.info(
      { deviceId: id, by: patch.by, fields: Object.keys(patch.fields) },
      'device changed',
    );
    return row;
  });

  app.get<{ Params: { id: string } }>('/api/v1/devices/:id/changes', async (req) => ({
    changes: await listDeviceChanges(pool, deviceId(req.params.id)),
  }));
}

function deviceId(id: string): string {
  if (!isValidDeviceId(id))
    throw new ApiError('DEVICE_NOT_FOUND', `No device ${JSON.stringify(id)}.`);
  return id;
}

function input<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof InputError) throw new ApiError('BAD_REQUEST', err.message);
    throw err;
  }
}
