import type { Role } from './roles.js';

/**
 * The role each `/api/v1` route needs, keyed `METHOD /path` as the route is declared.
 * The server refuses to start with an `/api/v1` route missing here, so none is open
 * by mistake; HEAD needs what GET needs. docs/api-access.md explains the choices.
 */
export const ROUTE_ROLES: Readonly<Record<string, Role>> = {
  // Readings, devices, proofs, reports: read by anyone with a token.
  'GET /api/v1/devices': 'viewer',
  'GET /api/v1/devices/:id': 'viewer',
  'GET /api/v1/devices/:id/readings': 'viewer',
  'GET /api/v1/devices/:id/changes': 'viewer',
  'GET /api/v1/devices/:id/settings': 'viewer',
  'GET /api/v1/devices/:id/status': 'viewer',
  'GET /api/v1/devices/:id/profile': 'viewer',
  'GET /api/v1/devices/:id/profile/changes': 'viewer',
  'GET /api/v1/readings/:id': 'viewer',
  'GET /api/v1/readings/:id/proof': 'viewer',
  'GET /api/v1/batches/:id': 'viewer',
  'GET /api/v1/reports/daily': 'viewer',
  'GET /api/v1/reports/mkt': 'viewer',
  'GET /api/v1/alarms': 'viewer',
  'GET /api/v1/alarms/:id': 'viewer',
  'GET /api/v1/profiles': 'viewer',
  'GET /api/v1/profiles/:name': 'viewer',
  'GET /api/v1/profiles/:name/changes': 'viewer',
  'GET /api/v1/mappings': 'viewer',
  'GET /api/v1/mappings/:name': 'viewer',
  'GET /api/v1/mappings/:name/changes': 'viewer',
  'GET /api/v1/push/vapid-public-key': 'viewer',
  // The dashboard's own reads (docs/dashboard.md): who the token is, the fleet's
  // tiles, a device's chart, and the live stream of both.
  'GET /api/v1/session': 'viewer',
  'GET /api/v1/fleet': 'viewer',
  'GET /api/v1/devices/:id/series': 'viewer',
  'GET /api/v1/stream': 'viewer',

  // Alarms and who hears of them. Recipients hold phone numbers and addresses:
  // reading them needs the role that manages them.
  'POST /api/v1/alarms/:id/ack': 'operator',
  'POST /api/v1/alarms/:id/close': 'operator',
  'GET /api/v1/recipients': 'operator',
  'POST /api/v1/recipients': 'operator',
  'GET /api/v1/recipients/:id': 'operator',
  'PATCH /api/v1/recipients/:id': 'operator',
  'DELETE /api/v1/recipients/:id': 'operator',
  'POST /api/v1/recipients/:id/channels': 'operator',
  'DELETE /api/v1/recipients/:id/channels/:channelId': 'operator',
  'POST /api/v1/recipients/:id/test': 'operator',
  'GET /api/v1/recipients/:id/deliveries': 'operator',
  'GET /api/v1/deliveries': 'operator',
  'GET /api/v1/deliveries/:id': 'operator',

  // What the fleet is and how it is judged: devices, profiles, mappings, tokens.
  'POST /api/v1/devices': 'admin',
  'PATCH /api/v1/devices/:id': 'admin',
  'PUT /api/v1/devices/:id/settings': 'admin',
  'PUT /api/v1/devices/:id/profile': 'admin',
  'PUT /api/v1/profiles/:name': 'admin',
  'PUT /api/v1/mappings/:name': 'admin',
  'DELETE /api/v1/mappings/:name': 'admin',
  'POST /api/v1/mappings/:name/test': 'admin',
  'GET /api/v1/tokens': 'admin',
  'POST /api/v1/tokens': 'admin',
  'DELETE /api/v1/tokens/:id': 'admin',
};

/** The role a route needs; undefined when the table has no entry for it. */
export function roleOf(method: string, url: string): Role | undefined {
  const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  return ROUTE_ROLES[`${m} ${url}`];
}
