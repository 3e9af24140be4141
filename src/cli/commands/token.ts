import { userInfo } from 'node:os';
import { isRole } from '../../auth/roles.js';
import {
  createToken,
  listTokens,
  revokeToken,
  TokenError,
  type TokenRow,
} from '../../auth/tokenStore.js';
import type { Pool } from '../../db/pool.js';
import { pickCommand, type ValuesOf, withDatabase } from '../subcommand.js';

const USAGE = `heru token <command> [options]

  create --role viewer|operator|admin --name <name>
                      make a token and print it once; only its SHA-256 is stored.
                      The first admin token is made this way, on a host that reaches
                      the database (DATABASE_URL, or the embedded server's own).
  list [--all] [--json]
                      live tokens (--all: revoked ones too); never the tokens themselves
  revoke <id | name>  the token stops working with its next request

Roles: viewer reads; operator also acknowledges alarms and manages recipients; admin
also changes devices, profiles, mappings and tokens. --by <who> (default: your login
name) is recorded as who created or revoked. See docs/api-access.md.`;

const OPTIONS = {
  role: { type: 'string' },
  name: { type: 'string' },
  by: { type: 'string' },
  all: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ValuesOf<typeof OPTIONS>;

type Command = (pool: Pool, args: string[], v: Values) => Promise<void>;

const COMMANDS: Record<string, Command> = {
  async create(pool, _args, v) {
    if (!isRole(v.role)) throw new Error('--role must be viewer, operator or admin');
    if (v.name === undefined)
      throw new Error('--name is required, e.g. --name pharmacy-desk');
    const { token, row } = await createToken(pool, {
      name: v.name,
      role: v.role,
      by: who(v),
    });
    console.error(
      `token ${row.id} "${row.name}" (${row.role}) created. It is shown this once; ` +
        'keep it in a password manager. Send it as "Authorization: Bearer <token>".',
    );
    console.log(token);
  },
  async list(pool, _args, v) {
    const rows = await listTokens(pool, v.all === true);
    if (v.json) {
      console.log(JSON.stringify(rows, null, 2));
      return;
    }
    if (rows.length === 0) console.log('no tokens; make one with `heru token create`');
    for (const r of rows) console.log(line(r));
  },
  async revoke(pool, args, v) {
    const target = args[0];
    if (target === undefined)
      throw new Error('say which token: heru token revoke <id | name>');
    const row = await revokeToken(pool, target, who(v));
    if (!row)
      throw new Error(`no live token ${JSON.stringify(target)}; see \`heru token list\``);
    console.log(`token ${row.id} "${row.name}" revoked`);
  },
};

/** `heru token create|list|revoke`. */
export async function runToken(args: string[]): Promise<void> {
  const picked = pickCommand(args, OPTIONS, COMMANDS, USAGE);
  if (!picked) return;
  const { name, rest, values } = picked;
  try {
    await withDatabase((pool) => COMMANDS[name]!(pool, rest, values));
  } catch (err) {
    if (err instanceof TokenError) throw new Error(err.message);
    throw err;
  }
}

function who(v: Values): string {
  return v.by ?? userInfo().username;
}

function line(r: TokenRow): string {
  const revoked = r.revoked_at
    ? `  revoked ${r.revoked_at.toISOString()} by ${r.revoked_by ?? '?'}`
    : '';
  return `${r.id.padStart(4)}  ${r.role.padEnd(8)}  ${r.name}  created ${r.created_at.toISOString()} by ${r.created_by}${revoked}`;
}
