import type { FastifyInstance } from 'fastify';
import type { Health } from '../../health.js';
import type { Metrics } from '../../metrics.js';

export interface HealthRouteDeps {
  health: Health;
  metrics: Metrics;
  /** True once the process has started every part and until it begins to stop. */
  ready: () => boolean;
}

/** `/health` (200 or 503, one entry per dependency), `/ready` and `/metrics`. */
export function healthRoutes(app: FastifyInstance, deps: HealthRouteDeps): void {
  app.get('/health', async (_req, reply) => {
    const { ok, checks } = await deps.health.report();
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'failing', checks });
  });

  app.get('/ready', async (_req, reply) => {
    const ready = deps.ready();
    return reply.code(ready ? 200 : 503).send({ ready });
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(body);
  });
}
