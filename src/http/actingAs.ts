import type { FastifyRequest } from 'fastify';
import { actorOf } from '../auth/principal.js';
import { ApiError } from './errors.js';

const MAX_BY = 100;

/**
 * The body with `by` set to the caller's token (name and id): the identity recorded
 * for a change. A `by` the client sent is not an identity; it is kept in the comment
 * as "on behalf of …" (a shared desk token used for a named person).
 */
export function actingAs(req: FastifyRequest, body: unknown = req.body): unknown {
  if (req.principal === null || !isObject(body)) return body;
  const said = body.by;
  if (said !== undefined && (typeof said !== 'string' || said.length > MAX_BY)) {
    throw new ApiError(
      'BAD_REQUEST',
      `\`by\` is optional; when given it must be a name of at most ${MAX_BY} characters (the token is who acts).`,
    );
  }
  const out: Record<string, unknown> = { ...body, by: actorOf(req.principal) };
  const note = typeof said === 'string' && said.trim() !== '' ? said.trim() : undefined;
  const c = body.comment;
  if (note !== undefined && (c === undefined || c === null || typeof c === 'string')) {
    const text = typeof c === 'string' ? c.trim() : '';
    out.comment = text === '' ? `on behalf of ${note}` : `${text} (on behalf of ${note})`;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
