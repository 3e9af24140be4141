/**
 * Builds the embedded database's template (pgTemplate.ts) once, so that a first start
 * copies a ready database instead of running initdb. The `prepare` script runs it
 * after compiling: `node dist/embedded/buildPgTemplate.js [folder]` (default
 * `dist/pgdata-template`).
 *
 * A failure costs only start time (the first start runs initdb), so it is reported
 * and the exit code stays 0: `npm ci` must not fail over it.
 */
import path from 'node:path';
import { createLogger } from '../log.js';
import { buildPgTemplate, DEFAULT_TEMPLATE_DIR } from './pgTemplate.js';

const target = path.resolve(process.argv[2] ?? DEFAULT_TEMPLATE_DIR);
const began = Date.now();
try {
  const manifest = await buildPgTemplate(target, createLogger('warn', process.stderr));
  process.stderr.write(
    `embedded database template: ${manifest.migrations.length} migrations, PGlite ${manifest.pglite}, in ${target} (${Date.now() - began} ms)\n`,
  );
} catch (err) {
  process.stderr.write(
    `embedded database template not built (${(err as Error).message}); the first \`npm start\` runs initdb instead, which is slower\n`,
  );
}
