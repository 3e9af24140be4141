/**
 * Builds the dashboard (web/) into dist/web: the app bundled and minified by
 * esbuild (Preact, uPlot and the app's own code, nothing fetched at run time), its
 * CSS, the service worker, the page, the manifest and the icons. Run by `npm run
 * build` and by `npm ci` (the prepare script); takes well under a second.
 */
import { build, type BuildOptions } from 'esbuild';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { iconPng } from './pngIcon.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Builds into `out` (default dist/web of this package); returns the folder. */
export async function buildWeb(out = join(ROOT, 'dist', 'web')): Promise<string> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const common: BuildOptions = {
    bundle: true,
    minify: true,
    sourcemap: true,
    target: ['chrome100', 'firefox100', 'safari15'],
    logLevel: 'warning',
    legalComments: 'linked',
  };
  await Promise.all([
    build({
      ...common,
      entryPoints: [join(ROOT, 'web/src/main.tsx')],
      outfile: join(out, 'app.js'),
      format: 'esm',
      jsx: 'automatic',
      jsxImportSource: 'preact',
    }),
    build({
      ...common,
      entryPoints: [join(ROOT, 'web/src/style.css')],
      outfile: join(out, 'app.css'),
    }),
    build({
      ...common,
      entryPoints: [join(ROOT, 'web/sw/sw.ts')],
      outfile: join(out, 'sw.js'),
      format: 'iife',
    }),
  ]);
  for (const f of ['index.html', 'manifest.webmanifest', 'icon.svg'])
    copyFileSync(join(ROOT, 'web/public', f), join(out, f));
  for (const size of [192, 512])
    writeFileSync(join(out, `icon-${size}.png`), iconPng(size));
  return out;
}

/**
 * Builds dist/web unless it is newer than every source of it; for tests, which may
 * start together: a lock folder makes the others wait while one builds.
 */
export async function ensureWebBuilt(): Promise<void> {
  const lock = join(ROOT, 'dist', '.web-build.lock');
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    if (stale()) await buildWeb();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function stale(): boolean {
  const built = join(ROOT, 'dist', 'web', 'app.js');
  if (!existsSync(built) || !existsSync(join(ROOT, 'dist', 'web', 'sw.js'))) return true;
  const at = statSync(built).mtimeMs;
  const newer = (path: string): boolean =>
    statSync(path).isDirectory()
      ? readdirSync(path).some((f) => newer(join(path, f)))
      : statSync(path).mtimeMs > at;
  return [join(ROOT, 'web'), join(ROOT, 'scripts')].some(newer);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const began = Date.now();
  const out = await buildWeb();
  // eslint-disable-next-line no-console -- the build's one line of output
  console.log(`dashboard built in ${out} (${Date.now() - began} ms)`);
}
