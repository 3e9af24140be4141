import type { Role } from './roles.js';

/** Who calls the API: the token that came with the request. */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
}

/**
 * The actor recorded for what a token changes: its name and id, e.g.
 * `pharmacy-desk (token 4)`. The id tells apart two tokens that had the same name.
 */
export function actorOf(p: Principal): string {
  return `${p.name} (token ${p.tokenId})`;
}
