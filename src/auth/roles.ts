/**
 * The roles a token carries, each allowing what the one before allows and more:
 * a viewer reads; an operator also acknowledges alarms and manages who is notified;
 * an admin also changes devices, profiles, mappings and tokens.
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;

export type Role = (typeof ROLES)[number];

/** True when a token of role `have` may call a route that needs `need`. */
export function roleAllows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** True when `v` names one of ROLES. */
export function isRole(v: unknown): v is Role {
  return (ROLES as readonly unknown[]).includes(v);
}
