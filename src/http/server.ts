import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
} from 'fastify';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import { ApiError } from './errors.js';
import { deviceRoutes } from './routes/devices.js';
import { healthRoutes, type HealthRouteDeps } from './routes/health.js';

export interface ServerDeps extends HealthRouteDeps {
  pool: Pool;
  log: Logger;
  /** Serve `/api/v1`; a process without the API role answers only health and metrics. */
  api: boolean;
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
  if (deps.api) deviceRoutes(app, deps.pool);
  return app;
}
