import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
} from 'fastify';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import { ApiError } from './errors.js';
import { deviceRoutes } from './routes/devices.js';
import { deviceRegistryRoutes } from './routes/deviceRegistry.js';
import { proofRoutes } from './routes/proofs.js';
import { healthRoutes, type HealthRouteDeps } from './routes/health.js';
import { recipientRoutes } from './routes/recipients.js';
import { alarmRoutes } from './routes/alarms.js';
import { profileRoutes } from './routes/profiles.js';
import { reportRoutes } from './routes/reports.js';
import { mappingRoutes } from './routes/mappings.js';
import { deviceSettingRoutes } from './routes/deviceSettings.js';
import { tokenRoutes } from './routes/tokens.js';
import { installApiAuth } from './apiAuth.js';
import { installDashboard } from './dashboard.js';
import { DEFAULT_AUTH_CONFIG, type AuthConfig } from '../auth/authConfig.js';
import type { AlarmNotifier } from '../alarms/notifier.js';
import type { NotificationHub } from '../notify/hub.js';
import type { NotifyConfig } from '../notify/config.js';

export interface ServerDeps extends HealthRouteDeps {
  pool: Pool;
  log: Logger;
  /** Serve `/api/v1`; a process without the API role answers only health and metrics. */
  api: boolean;
  /** The notification hub, for the recipients API. */
  notify?: NotificationHub;
  notifyConfig?: NotifyConfig;
  /** Where alarm events go (acknowledgements made through the API). */
  alarms?: AlarmNotifier;
  /** The per-token rate limit; default 20 requests a second, bursts of 100. */
  auth?: AuthConfig;
}

/** The HTTP API; not yet listening. */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const logger: FastifyBaseLogger = deps.log.child({ part: 'http' });
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1_048_576,
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof ApiError) {
      return reply
        .code(err.status)
        .send({ error: { code: err.code, message: err.message } });
    }
    const { statusCode: status, message } = err as {
      statusCode?: number;
      message?: string;
    };
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send({ error: { code: 'BAD_REQUEST', message } });
    }
    req.log.error({ err }, 'request failed');
    return reply
      .code(500)
      .send({ error: { code: 'INTERNAL', message: 'The server failed; see its log.' } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      error: { code: 'NOT_FOUND', message: `No route ${req.method} ${req.url}.` },
    }),
  );

  healthRoutes(app, deps);
  // Before any /api/v1 route: each one needs a token with the role routeRoles.ts gives.
  if (deps.api) {
    const auth = deps.auth ?? DEFAULT_AUTH_CONFIG;
    installApiAuth(app, { pool: deps.pool, rateLimit: auth.rateLimit });
    tokenRoutes(app, deps.pool);
  }
  if (deps.api) deviceRoutes(app, deps.pool);
  if (deps.api) deviceRegistryRoutes(app, deps.pool);
  if (deps.api) proofRoutes(app, deps.pool);
  if (deps.api && deps.alarms) alarmRoutes(app, deps.pool, deps.alarms);
  if (deps.api) profileRoutes(app, deps.pool);
  if (deps.api) reportRoutes(app, deps.pool);
  if (deps.api) mappingRoutes(app, deps.pool);
  if (deps.api) deviceSettingRoutes(app, deps.pool);
  if (deps.api) installDashboard(app, deps.pool, deps.log);
  if (deps.api && deps.notify && deps.notifyConfig) {
    recipientRoutes(app, {
      pool: deps.pool,
      notify: deps.notify,
      config: deps.notifyConfig,
    });
  }
  return app;
}
