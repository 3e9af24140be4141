import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebAsset } from '../../dashboard/webAssets.js';

/** The pages of the dashboard: each answers with index.html, the app routes itself. */
const PAGES = ['/', '/alarms', '/alarms/:id', '/devices/:id', '/proofs/:id', '/push'];

/**
 * Nothing is loaded from elsewhere: scripts, styles, workers and requests stay on
 * this origin. Inline styles are allowed for the chart library's positioning.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/**
 * The dashboard (a PWA) at `/`, served from memory: its pages, its files
 * (`/app.js`, `/sw.js`, …). Files are revalidated by ETag on each load; the service
 * worker must live at the root to control every page. Without a build, the pages
 * answer 503 with the command that makes one.
 */
export function dashboardRoutes(
  app: FastifyInstance,
  assets: Map<string, WebAsset>,
): void {
  const index = assets.get('/index.html');
  for (const page of PAGES) {
    app.get(page, (req, reply) => {
      if (!index) {
        return reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send(
            'The dashboard is not built: run `npm run build` (it writes dist/web).\n',
          );
      }
      return sendAsset(req, reply, index);
    });
  }
  for (const [path, asset] of assets) {
    if (path === '/index.html') continue;
    app.get(path, (req, reply) => sendAsset(req, reply, asset));
  }
}

function sendAsset(req: FastifyRequest, reply: FastifyReply, a: WebAsset): FastifyReply {
  void reply
    .header('etag', a.etag)
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');
  if (a.type.startsWith('text/html')) void reply.header('content-security-policy', CSP);
  if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
  return reply.type(a.type).send(a.body);
}
