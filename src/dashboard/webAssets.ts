/**
 * The dashboard's built files (`npm run build` writes them to dist/web from web/),
 * read once into memory with their type and an ETag. The server runs from src/ in
 * development and from dist/ in production; both find dist/web from the package root.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface WebAsset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

/** dist/web of the package this module belongs to. */
export function defaultWebDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return join(dir, 'dist', 'web');
}

/** Every file under `dir` keyed by its URL path (`/app.js`); empty when not built. */
export function loadWebAssets(dir: string): Map<string, WebAsset> {
  const assets = new Map<string, WebAsset>();
  if (!existsSync(dir)) return assets;
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const file = join(d, name);
      let body: Buffer;
      try {
        if (statSync(file).isDirectory()) {
          walk(file);
          continue;
        }
        body = readFileSync(file);
      } catch {
        // Removed while being read (a build running beside this start): left out.
        continue;
      }
      const path = `/${relative(dir, file).split(sep).join('/')}`;
      assets.set(path, {
        body,
        type: TYPES[extname(name)] ?? 'application/octet-stream',
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      });
    }
  };
  try {
    walk(dir);
  } catch {
    // The folder went away meanwhile: the pages answer that the build is missing.
  }
  return assets;
}
