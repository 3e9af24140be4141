import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../auth/principal.js';
import { bodyObject, InputError } from '../../alarms/input.js';
import { isRole, type Role } from '../../auth/roles.js';
import {
  createToken,
  listTokens,
  revokeToken,
  TokenError,
} from '../../auth/tokenStore.js';
import type { Pool } from '../../db/pool.js';
import { ApiError } from '../errors.js';

/**
 * Tokens, for admins: `GET /api/v1/tokens` (`?all=true` with revoked ones),
 * `POST /api/v1/tokens` with `{"name": …, "role": …}` (the answer holds the token, the
 * only time it is shown) and `DELETE /api/v1/tokens/{id}` (revoked at once).
 */
export function tokenRoutes(app: FastifyInstance, pool: Pool): void {
  app.get<{ Querystring: { all?: string } }>('/api/v1/tokens', async (req) => ({
    tokens: await listTokens(pool, req.query.all === 'true'),
  }));

  app.post('/api/v1/tokens', async (req, reply) => {
    const { name, role } = parseNewToken(req.body);
    try {
      const { token, row } = await createToken(pool, {
        name,
        role,
        by: actorOf(req.principal!),
      });
      req.log.info({ tokenId: row.id, name, role }, 'token created');
      return await reply.code(201).send({ ...row, token });
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      const code = err.reason === 'name_taken' ? 'TOKEN_EXISTS' : 'BAD_REQUEST';
      throw new ApiError(code, err.message);
    }
  });

  app.delete<{ Params: { id: string } }>('/api/v1/tokens/:id', async (req, reply) => {
    if (!/^\d{1,18}$/.test(req.params.id))
      throw new ApiError('BAD_REQUEST', 'A token id is a whole number.');
    const row = await revokeToken(pool, req.params.id, actorOf(req.principal!));
    if (!row) throw new ApiError('TOKEN_NOT_FOUND', `No live token ${req.params.id}.`);
    req.log.info({ tokenId: row.id, name: row.name }, 'token revoked');
    return reply.code(204).send();
  });
}

function parseNewToken(body: unknown): { name: string; role: Role } {
  const example = '{"name": "pharmacy-desk", "role": "viewer" | "operator" | "admin"}';
  try {
    const o = bodyObject(body, example);
    if (typeof o.name !== 'string' || !isRole(o.role))
      throw new InputError(`\`name\` and \`role\` are required: ${example}.`);
    return { name: o.name, role: o.role };
  } catch (err) {
    if (err instanceof InputError) throw new ApiError('BAD_REQUEST', err.message);
    throw err;
  }
}
