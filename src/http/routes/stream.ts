import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { findToken } from '../../auth/tokenStore.js';
import type { FleetEvent, FleetWatch } from '../../dashboard/fleetWatch.js';
import type { Pool } from '../../db/pool.js';

/** Milliseconds between two keep-alive comments, each after a fresh look at the token. */
const HEARTBEAT_MS = 15_000;
/** Bytes a listener may fall behind before its stream is ended (it reconnects). */
const MAX_BACKLOG = 4 * 1024 * 1024;

/**
 * `GET /api/v1/stream`: server-sent events (text/event-stream) for the dashboard.
 * The first event, `fleet`, is the whole fleet; then `tiles` (devices whose tile
 * changed) and `alarms` (alarms raised, acknowledged or cleared) as they happen.
 * `spark.complete` (`spark_complete` in `tiles`) is false while the sparklines hold
 * only the current half hour.
 *
 * The token comes in the Authorization header like on every route (browsers read
 * the stream with fetch; EventSource cannot send the header, and a token in the URL
 * would end up in logs). It is looked up again with every heartbeat, so a revoked
 * token's stream ends within HEARTBEAT_MS.
 */
export function streamRoutes(app: FastifyInstance, pool: Pool, watch: FleetWatch): void {
  const open = new Set<ServerResponse>();
  // Before the server waits for its connections to end: these would never end.
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
    await watch.close();
  });

  app.get('/api/v1/stream', async (req, reply) => {
    // Right after a start the sparklines' past may still be read: the page shows the
    // tiles at once, and gets them again with their past (a `tiles` event).
    const fleet = await watch.snapshot({ partial: true });
    void reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    open.add(res);
    const send = (name: string, data: unknown): void => {
      if (res.writableLength > MAX_BACKLOG) {
        req.log.info({ tokenId: req.principal?.tokenId }, 'slow stream listener ended');
        res.end();
        return;
      }
      res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    send('fleet', fleet);
    const stop = watch.subscribe(fleet, (e: FleetEvent) => send(e.type, e));
    const heartbeat = setInterval(() => void checkToken(pool, req, res), HEARTBEAT_MS);
    const end = (): void => {
      clearInterval(heartbeat);
      stop();
      open.delete(res);
    };
    res.once('close', end);
  });
}

async function checkToken(
  pool: Pool,
  req: FastifyRequest,
  res: ServerResponse,
): Promise<void> {
  const token = /^Bearer[ ]+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  try {
    if (token !== undefined && (await findToken(pool, token))) {
      res.write(': keep-alive\n\n');
      return;
    }
    res.write('event: signed_out\ndata: {"reason":"the token was revoked"}\n\n');
  } catch (err) {
    // The database is unreachable: end the stream, the client reconnects later.
    req.log.warn({ err: (err as Error).message }, 'stream token check failed');
  }
  res.end();
}
