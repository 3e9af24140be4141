/**
 * The ingest under test, as a child process (`heru ingest`), so that its resident
 * memory and CPU are its own and can be read from /proc.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/ports.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface IngestProcess {
  pid: number;
  /** Base URL of its /health, /ready and /metrics. */
  baseUrl: string;
  /** SIGTERM, and wait for it to drain and exit (SIGKILL after 30 s). */
  stop(): Promise<void>;
  /** SIGKILL: a crash at an arbitrary point. */
  kill(): Promise<void>;
}

export interface IngestStart {
  databaseUrl: URL;
  mqttUrl: string;
  clientId: string;
  /**
   * `tsx` runs src/ through the TypeScript loader; `dist` runs JavaScript compiled
   * from src/ by buildIngest (what `heru ingest` runs in production).
   */
  runner: 'tsx' | 'dist';
  /** The folder buildIngest compiled into; needed for `dist`. */
  buildDir?: string;
  /** Extra environment (ingest tuning); the bench's own INGEST_* and MQTT_* pass too. */
  env?: Record<string, string>;
  /** Folder for a V8 CPU profile of the run, written when it stops. */
  cpuProfDir?: string;
  /** Extra Node.js/V8 flags. */
  nodeFlags?: string[];
  /** File its log lines go to. */
  logFile: string;
  /** The role to run, default `ingest`; `worker` runs the anchor worker the same way. */
  command?: 'ingest' | 'worker';
}

export async function startIngest(o: IngestStart): Promise<IngestProcess> {
  const port = await freePort();
  if (o.runner === 'dist' && o.buildDir === undefined)
    throw new Error('the dist runner needs the folder buildIngest compiled into');
  const args =
    o.runner === 'tsx'
      ? ['--import', 'tsx', 'src/cli/main.ts']
      : [join(o.buildDir!, 'dist/cli/main.js')];
  const node = [
    ...(o.nodeFlags ?? []),
    ...(o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : []),
  ];
  const log = openSync(o.logFile, 'a');
  const child = spawn(process.execPath, [...node, ...args, o.command ?? 'ingest'], {
    cwd: ROOT,
    env: {
      ...process.env,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      ...o.env,
      DATABASE_URL: o.databaseUrl.toString(),
      MQTT_URL: o.mqttUrl,
      MQTT_CLIENT_ID: o.clientId,
      HTTP_PORT: String(port),
      HTTP_HOST: '127.0.0.1',
    },
    stdio: ['ignore', log, log],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitUntilReady(child, baseUrl, o.logFile);
  return {
    pid: child.pid!,
    baseUrl,
    stop: () => endProcess(child, 'SIGTERM', 30_000),
    kill: () => endProcess(child, 'SIGKILL', 5_000),
  };
}

/**
 * Compiles src/ with the project's build settings into `dir`/dist, beside a copy of
 * package.json and links to the rest of the tree (node_modules, migrations, …), so that it runs like the
 * installed package without touching the working tree's dist/. Type errors are
 * reported but do not stop it: TypeScript still writes the JavaScript.
 */
export function buildIngest(dir: string): void {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  for (const name of readdirSync(ROOT)) {
    if (['dist', '.git', 'package.json'].includes(name) || existsSync(join(dir, name)))
      continue;
    symlinkSync(join(ROOT, name), join(dir, name));
  }
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(
    process.execPath,
    [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (!existsSync(join(dir, 'dist/cli/main.js')))
    throw new Error(`the build wrote no dist/cli/main.js:\n${r.stdout}${r.stderr}`);
  if (r.status !== 0)
    console.error(
      `bench: the build reported type errors (running it anyway):\n${r.stdout}`,
    );
}

async function waitUntilReady(
  child: ChildProcess,
  baseUrl: string,
  logFile: string,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `ingest exited with ${child.exitCode} while starting; see ${logFile}`,
      );
    }
    const ok = await fetch(`${baseUrl}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`ingest not ready within 60 s; see ${logFile}`);
}

async function endProcess(
  child: ChildProcess,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}
