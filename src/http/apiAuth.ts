import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
  onSendAsyncHookHandler,
  RouteOptions,
} from 'fastify';
import { recordChange } from '../auth/changeLog.js';
import type { Principal } from '../auth/principal.js';
import { RateLimiter, type RateLimitConfig } from '../auth/rateLimit.js';
import { roleAllows, ROLES, type Role } from '../auth/roles.js';
import { roleOf } from '../auth/routeRoles.js';
import { findToken } from '../auth/tokenStore.js';
import type { Pool } from '../db/pool.js';
import { ApiError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The token that came with an `/api/v1` request; null elsewhere. */
    principal: Principal | null;
  }
}

export interface ApiAuthDeps {
  pool: Pool;
  rateLimit: RateLimitConfig;
}

/** An `/api/v1` route and the role it needs. */
export interface ApiRoute {
  method: string;
  url: string;
  role: Role;
}

const registered = new WeakMap<FastifyInstance, ApiRoute[]>();
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Puts every `/api/v1` route registered after this call behind a bearer token with
 * the role src/auth/routeRoles.ts gives it; a route with no role there stops the
 * server from starting. Changes made with a token are recorded in `api_change`.
 */
export function installApiAuth(app: FastifyInstance, deps: ApiAuthDeps): void {
  const limiter = new RateLimiter(deps.rateLimit);
  const routes: ApiRoute[] = [];
  registered.set(app, routes);
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (opts: RouteOptions) => {
    if (!opts.url.startsWith('/api/v1')) return;
    const role = requiredRole(opts);
    for (const method of [opts.method].flat())
      routes.push({ method, url: opts.url, role });
    opts.onRequest = [...hooks(opts.onRequest), authenticate(deps.pool, limiter, role)];
    opts.onSend = [...hooks(opts.onSend), recordChanges(deps.pool)];
  });
}

/** The `/api/v1` routes of a server built with installApiAuth, with their roles. */
export function apiRoutesOf(app: FastifyInstance): readonly ApiRoute[] {
  return registered.get(app) ?? [];
}

function requiredRole(opts: RouteOptions): Role {
  const roles = [opts.method].flat().map((m) => roleOf(m, opts.url));
  if (roles.includes(undefined)) {
    throw new Error(
      `Route ${[opts.method].flat().join('|')} ${opts.url} has no role: add it to ROUTE_ROLES in src/auth/routeRoles.ts.`,
    );
  }
  // The strictest, when one declaration serves several methods.
  return roles.reduce<Role>((a, r) => (roleAllows(a, r!) ? a : r!), ROLES[0]);
}

function hooks<T>(h: T | T[] | undefined): T[] {
  return h === undefined ? [] : ([h].flat() as T[]);
}

function authenticate(
  pool: Pool,
  limiter: RateLimiter,
  role: Role,
): onRequestAsyncHookHandler {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const token = bearer(req.headers.authorization);
    if (token === undefined) {
      void reply.header('www-authenticate', 'Bearer');
      throw new ApiError(
        'UNAUTHORIZED',
        'This route needs a token: send "Authorization: Bearer <token>". An admin makes one with `heru token create` (docs/api-access.md).',
      );
    }
    const who = await findToken(pool, token);
    if (!who) {
      void reply.header('www-authenticate', 'Bearer error="invalid_token"');
      throw new ApiError(
        'UNAUTHORIZED',
        'The token is not known or was revoked; ask an admin for a new one (`heru token create`).',
      );
    }
    const wait = limiter.take(who.tokenId);
    if (wait > 0) {
      void reply.header('retry-after', String(wait));
      throw new ApiError(
        'RATE_LIMITED',
        `Token ${who.name} sent too many requests; retry in ${wait} s (limits: docs/api-access.md).`,
      );
    }
    if (!roleAllows(who.role, role)) {
      throw new ApiError(
        'FORBIDDEN',
        `This needs the ${role} role; token ${who.name} has ${who.role}.`,
      );
    }
    req.principal = who;
  };
}

/** The token of an `Authorization: Bearer …` header; undefined when there is none. */
function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

function recordChanges(pool: Pool): onSendAsyncHookHandler {
  return async (req, reply, payload) => {
    if (req.principal === null || READS.has(req.method)) return payload;
    try {
      await recordChange(pool, req.principal, {
        method: req.method,
        route: req.routeOptions.url ?? req.url,
        path: req.url.split('?')[0] ?? req.url,
        status: reply.statusCode,
      });
    } catch (err) {
      req.log.error(
        { err: (err as Error).message, route: req.routeOptions.url },
        'could not record who made an API change',
      );
    }
    return payload;
  };
}
