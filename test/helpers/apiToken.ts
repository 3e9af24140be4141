import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Role } from '../../src/auth/roles.js';
import { createToken } from '../../src/auth/tokenStore.js';
import type { Pool } from '../../src/db/pool.js';

let made = 0;

/** A new token of `role` (default admin), made the way `heru token create` makes it. */
export async function createTestToken(
  pool: Pool,
  role: Role = 'admin',
  name = `test-${role}-${process.pid}-${++made}`,
): Promise<string> {
  return (await createToken(pool, { name, role, by: 'test' })).token;
}

/** `http.inject` with `Authorization: Bearer <token>` on every request. */
export function authedInject(
  http: FastifyInstance,
  token: string,
): (opts: string | InjectOptions) => Promise<LightMyRequestResponse> {
  return (opts) => {
    const o: InjectOptions = typeof opts === 'string' ? { url: opts } : opts;
    return http.inject({
      ...o,
      headers: { ...o.headers, authorization: `Bearer ${token}` },
    });
  };
}
