import type { Pool } from '../db/pool.js';
import type { Principal } from './principal.js';
import { isRole, type Role } from './roles.js';
import { newToken, tokenHash } from './token.js';

/** A token's name: 1–64 of A-Z, a-z, 0-9, ".", "_", "@" and "-". */
export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

/** A token that cannot be made: a bad name or role, or a live token of that name. */
export class TokenError extends Error {
  constructor(
    message: string,
    readonly reason: 'invalid' | 'name_taken' = 'invalid',
  ) {
    super(message);
  }
}

/** A token as listings show it: never the token, never its hash. */
export interface TokenRow {
  id: string;
  name: string;
  role: Role;
  created_at: Date;
  created_by: string;
  revoked_at: Date | null;
  revoked_by: string | null;
}

const COLUMNS = 'id, name, role, created_at, created_by, revoked_at, revoked_by';

/**
 * Makes a token and stores its hash. The returned `token` is the only copy: whoever
 * asked must hand it on now. A live token with the same name is a TokenError.
 */
export async function createToken(
  pool: Pool,
  input: { name: string; role: Role; by: string },
): Promise<{ token: string; row: TokenRow }> {
  if (!TOKEN_NAME.test(input.name)) {
    throw new TokenError(
      'A token name is 1–64 of A-Z, a-z, 0-9, ".", "_", "@" and "-", e.g. pharmacy-desk.',
    );
  }
  if (!isRole(input.role))
    throw new TokenError('A token role is viewer, operator or admin.');
  const token = newToken();
  try {
    const { rows } = await pool.query<TokenRow>(
      `insert into api_token (name, role, hash, created_by) values ($1, $2, $3, $4)
       returning ${COLUMNS}`,
      [input.name, input.role, tokenHash(token), input.by],
    );
    return { token, row: rows[0]! };
  } catch (err) {
    if ((err as { code?: string }).code === '23505') {
      throw new TokenError(
        `A live token is already named ${JSON.stringify(input.name)}; revoke it first or choose another name.`,
        'name_taken',
      );
    }
    throw err;
  }
}

/** Every token, newest first; revoked ones only when `all`. */
export async function listTokens(pool: Pool, all = false): Promise<TokenRow[]> {
  const { rows } = await pool.query<TokenRow>(
    `select ${COLUMNS} from api_token
      where $1::boolean or revoked_at is null order by id desc`,
    [all],
  );
  return rows;
}

/**
 * Revokes the live token with this id or name; it stops working with the next
 * request. Undefined when no live token matches.
 */
export async function revokeToken(
  pool: Pool,
  idOrName: string,
  by: string,
): Promise<TokenRow | undefined> {
  const byId = /^\d{1,18}$/.test(idOrName);
  const { rows } = await pool.query<TokenRow>(
    `update api_token set revoked_at = now(), revoked_by = $2
      where revoked_at is null and (($3 and id::text = $1) or (not $3 and name = $1))
      returning ${COLUMNS}`,
    [idOrName, by, byId],
  );
  return rows[0];
}

/** The live token whose hash matches, or undefined (unknown or revoked). */
export async function findToken(
  pool: Pool,
  token: string,
): Promise<Principal | undefined> {
  const { rows } = await pool.query<{ id: string; name: string; role: Role }>(
    'select id, name, role from api_token where hash = $1 and revoked_at is null',
    [tokenHash(token)],
  );
  const r = rows[0];
  return r ? { tokenId: r.id, name: r.name, role: r.role } : undefined;
}
