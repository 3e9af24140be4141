import type { FastifyInstance } from 'fastify';
import { actor, bodyObject, comment, InputError } from '../../alarms/input.js';
import {
  parseRules,
  PROFILE_KINDS,
  ProfileError,
  type ProfileKind,
} from '../../alarms/profile.js';
import {
  getDeviceProfile,
  getProfile,
  listProfileChanges,
  listProfiles,
  profileToJson,
  putProfile,
  setDeviceProfile,
  type DeviceProfile,
} from '../../alarms/profileStore.js';
import type { Pool } from '../../db/pool.js';
import { isValidDeviceId } from '../../ingest/deviceId.js';
import { actingAs } from '../actingAs.js';
import { ApiError } from '../errors.js';

const PROFILE_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/**
 * Profiles and the profile of each device:
 * `GET /api/v1/profiles`, `GET|PUT /api/v1/profiles/{name}`,
 * `GET /api/v1/profiles/{name}/changes`, `GET|PUT /api/v1/devices/{id}/profile`,
 * `GET /api/v1/devices/{id}/profile/changes`. Every change names who made it.
 */
export function profileRoutes(app: FastifyInstance, pool: Pool): void {
  app.get('/api/v1/profiles', async () => ({
    profiles: (await listProfiles(pool)).map(profileToJson),
  }));

  app.get<{ Params: { name: string } }>('/api/v1/profiles/:name', async (req) =>
    profileToJson(await existingProfile(pool, req.params.name)),
  );

  app.put<{ Params: { name: string } }>('/api/v1/profiles/:name', async (req, reply) => {
    const name = profileName(req.params.name);
    const input = guard(() => parseProfileBody(actingAs(req)));
    const { profile, created } = await putProfile(
      pool,
      { name, ...input.profile },
      input.by,
      input.comment,
    );
    req.log.info({ profile: name, by: input.by, created }, 'profile saved');
    return reply.code(created ? 201 : 200).send(profileToJson(profile));
  });

  app.get<{ Params: { name: string } }>('/api/v1/profiles/:name/changes', async (req) => {
    const p = await existingProfile(pool, req.params.name);
    return { changes: await listProfileChanges(pool, { profile: p.name }) };
  });

  app.get<{ Params: { id: string } }>('/api/v1/devices/:id/profile', async (req) =>
    deviceProfileJson((await getDeviceProfile(pool, deviceId(req.params.id)))!),
  );

  app.put<{ Params: { id: string } }>('/api/v1/devices/:id/profile', async (req) => {
    const id = deviceId(req.params.id);
    const body = guard(() => {
      const o = bodyObject(actingAs(req), '{"profile": "freezer"}');
      if (typeof o.profile !== 'string')
        throw new InputError('`profile` must name a profile.');
      return { profile: o.profile, by: actor(o), comment: comment(o) };
    });
    const result = await setDeviceProfile(pool, id, body.profile, body.by, body.comment);
    if (result.outcome === 'no_such_profile') {
      throw new ApiError(
        'PROFILE_NOT_FOUND',
        `No profile ${JSON.stringify(body.profile)}; see GET /api/v1/profiles.`,
      );
    }
    req.log.info(
      { deviceId: id, profile: body.profile, previous: result.previous, by: body.by },
      'device profile set',
    );
    return deviceProfileJson(result.current);
  });

  app.get<{ Params: { id: string } }>(
    '/api/v1/devices/:id/profile/changes',
    async (req) => ({
      changes: await listProfileChanges(pool, { deviceId: deviceId(req.params.id) }),
    }),
  );
}

function deviceProfileJson(dp: DeviceProfile): Record<string, unknown> {
  return {
    device_id: dp.deviceId,
    profile: profileToJson(dp.profile),
    assigned_at: dp.assigned?.at ?? null,
    assigned_by: dp.assigned?.by ?? null,
  };
}

async function existingProfile(
  pool: Pool,
  name: string,
): Promise<NonNullable<Awaited<ReturnType<typeof getProfile>>>> {
  const p = await getProfile(pool, profileName(name));
  if (!p) throw new ApiError('PROFILE_NOT_FOUND', `No profile ${JSON.stringify(name)}.`);
  return p;
}

function profileName(name: string): string {
  if (PROFILE_NAME.test(name)) return name;
  throw new ApiError(
    'BAD_REQUEST',
    'A profile name is 1–64 of a-z, 0-9, ".", "_" and "-", starting with a letter or digit.',
  );
}

function deviceId(id: string): string {
  if (isValidDeviceId(id)) return id;
  throw new ApiError(
    'BAD_REQUEST',
    'A device id is 1–64 of A-Z, a-z, 0-9, ".", "_", ":" and "-".',
  );
}

/** The body of `PUT /api/v1/profiles/{name}`: kind, description, rules, by, comment. */
export function parseProfileBody(body: unknown): {
  profile: {
    kind: ProfileKind;
    description: string;
    rules: ReturnType<typeof parseRules>;
  };
  by: string;
  comment: string | null;
} {
  const o = bodyObject(body, '{"kind": "custom", "rules": {…}, "by": "quality.manager"}');
  const kind = o.kind ?? 'custom';
  if (!(PROFILE_KINDS as readonly unknown[]).includes(kind)) {
    throw new InputError(`\`kind\` must be one of ${PROFILE_KINDS.join(', ')}.`);
  }
  const description = o.description ?? '';
  if (typeof description !== 'string' || description.length > 500) {
    throw new InputError('`description` must be text of at most 500 characters.');
  }
  return {
    profile: { kind: kind as ProfileKind, description, rules: parseRules(o.rules) },
    by: actor(o),
    comment: comment(o),
  };
}

/** Turns input errors into 400s that say what is wrong. */
function guard<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ProfileError) throw new ApiError('PROFILE_INVALID', err.message);
    if (err instanceof InputError) throw new ApiError('BAD_REQUEST', err.message);
    throw err;
  }
}
