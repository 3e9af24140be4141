import type { FastifyInstance } from 'fastify';
import { actor, bodyObject, comment, InputError } from '../../alarms/input.js';
import type { Pool } from '../../db/pool.js';
import { loadDeviceSettings } from '../../mappings/deviceSettingStore.js';
import { dryRun } from '../../mappings/dryRun.js';
import { MAPPING_NAME, parseMapping, type Mapping } from '../../mappings/mapping.js';
import { MappingError } from '../../mappings/mappingError.js';
import {
  compileStored,
  deleteMapping,
  getMapping,
  listMappingChanges,
  listMappings,
  putMapping,
  type StoredMapping,
} from '../../mappings/mappingStore.js';
import { DEFAULT_DEVICE_SETTINGS } from '../../ingest/codecs/deviceSettings.js';
import { actingAs } from '../actingAs.js';
import { ApiError } from '../errors.js';

/**
 * Operator mappings of device formats (docs/mapping.md):
 * `GET /api/v1/mappings`, `GET|PUT|DELETE /api/v1/mappings/{name}`,
 * `GET /api/v1/mappings/{name}/changes`, `POST /api/v1/mappings/{name}/test`.
 * A change reaches every ingest process within a second (PostgreSQL NOTIFY).
 */
export function mappingRoutes(app: FastifyInstance, pool: Pool): void {
  app.get('/api/v1/mappings', async () => ({
    mappings: (await listMappings(pool)).map(mappingJson),
  }));

  app.get<{ Params: { name: string } }>('/api/v1/mappings/:name', async (req) =>
    mappingJson(await existing(pool, req.params.name)),
  );

  app.put<{ Params: { name: string } }>('/api/v1/mappings/:name', async (req, reply) => {
    const o = guard(() =>
      bodyObject(
        actingAs(req),
        '{"topic": "acme/{device}/up", "temperature": "$.t", "by": "ops"}',
      ),
    );
    const definition = Object.fromEntries(
      Object.entries(o).filter(([k]) => k !== 'by' && k !== 'comment'),
    );
    const by = guard(() => actor(o));
    const note = guard(() => comment(o));
    const mapping = guard(() => parseMapping(name(req.params.name), definition));
    const { stored, created } = await guardAsync(() =>
      putMapping(pool, mapping, by, note),
    );
    req.log.info({ mapping: mapping.name, by, created }, 'mapping saved');
    return reply.code(created ? 201 : 200).send(mappingJson(stored));
  });

  app.delete<{
    Params: { name: string };
    Querystring: { by?: string; comment?: string };
  }>('/api/v1/mappings/:name', async (req, reply) => {
    const o = actingAs(req, {
      ...req.query,
      ...(isObject(req.body) ? req.body : {}),
    }) as Record<string, unknown>;
    const by = guard(() => actor(o));
    const gone = await deleteMapping(
      pool,
      name(req.params.name),
      by,
      guard(() => comment(o)),
    );
    if (!gone) throw notFound(req.params.name);
    req.log.info({ mapping: req.params.name, by }, 'mapping deleted');
    return reply.code(204).send();
  });

  app.get<{ Params: { name: string } }>(
    '/api/v1/mappings/:name/changes',
    async (req) => ({
      changes: await listMappingChanges(pool, name(req.params.name)),
    }),
  );

  app.post<{ Params: { name: string } }>('/api/v1/mappings/:name/test', async (req) => {
    const mapping = compiled(await existing(pool, req.params.name));
    const o = guard(() =>
      bodyObject(req.body, '{"topic": "acme/dev-1/up", "payload": "{…}"}'),
    );
    if (typeof o.topic !== 'string' || typeof o.payload !== 'string')
      throw new ApiError('BAD_REQUEST', '`topic` and `payload` must be strings.');
    const settings = await loadDeviceSettings(pool);
    const devices = {
      settingsOf: (id: string) => settings.get(id) ?? DEFAULT_DEVICE_SETTINGS,
    };
    return dryRun(mapping, o.topic, Buffer.from(o.payload), devices);
  });
}

function mappingJson(m: StoredMapping): Record<string, unknown> {
  const c = compileStored(m);
  return {
    name: m.name,
    ...m.definition,
    filter: c instanceof MappingError ? null : c.topic.filter,
    problem: c instanceof MappingError ? c.message : null,
    created_at: m.created_at,
    updated_at: m.updated_at,
    updated_by: m.updated_by,
  };
}

function compiled(m: StoredMapping): Mapping {
  const c = compileStored(m);
  if (c instanceof MappingError) throw new ApiError('MAPPING_INVALID', c.message);
  return c;
}

async function existing(pool: Pool, n: string): Promise<StoredMapping> {
  const m = await getMapping(pool, name(n));
  if (!m) throw notFound(n);
  return m;
}

function notFound(n: string): ApiError {
  return new ApiError(
    'MAPPING_NOT_FOUND',
    `No mapping ${JSON.stringify(n)}; see GET /api/v1/mappings.`,
  );
}

function name(n: string): string {
  if (MAPPING_NAME.test(n)) return n;
  throw new ApiError(
    'BAD_REQUEST',
    'A mapping name is 1–64 of a-z, 0-9, ".", "_" and "-", starting with a letter or digit.',
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Turns input errors into 400s that say what is wrong. */
function guard<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw asApiError(err);
  }
}

async function guardAsync<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw asApiError(err);
  }
}

function asApiError(err: unknown): unknown {
  if (err instanceof MappingError)
    return new ApiError('MAPPING_INVALID', `The mapping is not valid: ${err.message}.`);
  if (err instanceof InputError) return new ApiError('BAD_REQUEST', err.message);
  return err;
}
