import type { FastifyInstance } from 'fastify';
import { FleetWatch } from '../dashboard/fleetWatch.js';
import { defaultWebDir, loadWebAssets } from '../dashboard/webAssets.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { fleetRoutes } from './routes/fleet.js';
import { streamRoutes } from './routes/stream.js';

/**
 * The web dashboard: its pages and files at `/` (docs/dashboard.md), and the API
 * routes it reads besides the others: session, fleet, series and the live stream.
 */
export function installDashboard(app: FastifyInstance, pool: Pool, log: Logger): void {
  const watch = new FleetWatch(pool, log.child({ part: 'dashboard' }));
  fleetRoutes(app, pool, watch);
  streamRoutes(app, pool, watch);
  dashboardRoutes(app, loadWebAssets(defaultWebDir()));
}
