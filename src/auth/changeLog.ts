import type { Pool } from '../db/pool.js';
import type { Principal } from './principal.js';

/** One change made through the API, as `api_change` keeps it. */
export interface ApiChange {
  method: string;
  /** The route as declared, e.g. `/api/v1/recipients/:id`. */
  route: string;
  /** The path asked for, without its query. */
  path: string;
  status: number;
}

/** Records who made a change through the API; the table is append-only. */
export async function recordChange(
  pool: Pool,
  who: Principal,
  change: ApiChange,
): Promise<void> {
  await pool.query(
    `insert into api_change (token_id, token_name, method, route, path, status)
     values ($1, $2, $3, $4, $5, $6)`,
    [who.tokenId, who.name, change.method, change.route, change.path, change.status],
  );
}
