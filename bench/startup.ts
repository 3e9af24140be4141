/**
 * Start time of the embedded default: `node bench/startup.ts` (through tsx).
 *
 * Starts `node bin/heru.js serve` (what `npm start` runs, compiled) with an empty
 * HERU_DATA_DIR in a temporary folder, none of DATABASE_URL, MQTT_URL and REDIS_URL,
 * and free ports; polls /health every 25 ms until it answers 200; stops it with
 * SIGTERM and starts it again on the same folder. Each run is one first start and
 * `--restarts` later starts. Prints each start's time to a healthy /health, the CPU
 * seconds the server had used by then, when each start-up log line came (milliseconds
 * after the spawn; the database's line says where its files came from), and the load
 * average.
 *
 *   node --import tsx bench/startup.ts [--runs 3] [--restarts 1] [--hold 0] [--keep]
 *
 * `--hold S` keeps each server running S seconds once healthy, as a user would: a
 * first start that took the template's spare database makes a new one after 15 s,
 * for the next first start (src/embedded/pgTemplate.ts).
 *
 * It needs `npm run build` (dist/) first, as `npm start` does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../test/helpers/ports.js';
import { cpuSeconds, loadAverage } from './procStats.js';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Longest wait for one start, milliseconds. */
const START_LIMIT_MS = 120_000;
const POLL_MS = 25;

/** One start: milliseconds to a healthy /health, and its log lines' offsets. */
interface StartFigure {
  kind: 'first' | 'later';
  healthyMs: number;
  /** CPU seconds (user + system) the server had used when /health answered 200. */
  cpuS: number;
  load: number;
  /** Log messages with the milliseconds after the spawn at which they were logged. */
  marks: Array<{ ms: number; msg: string }>;
}

interface Ports {
  http: number;
  mqtts: number;
  mqtt: number;
}

function serverEnv(dataDir: string, ports: Ports): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    // Blank reads as unset, whatever a `.env` in the repository says.
    DATABASE_URL: '',
    MQTT_URL: '',
    MQTT_BROKER: '',
    REDIS_URL: '',
    HERU_DATA_DIR: dataDir,
    HTTP_PORT: String(ports.http),
    HTTP_HOST: '127.0.0.1',
    EMBEDDED_MQTTS_PORT: String(ports.mqtts),
    EMBEDDED_MQTT_PORT: String(ports.mqtt),
    LOG_LEVEL: 'info',
  };
}

async function healthy(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/health`, {
    signal: AbortSignal.timeout(1_000),
  }).then(
    (r) => r.status === 200,
    () => false,
  );
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** One start of the server on `dataDir`; it is stopped again before this returns. */
async function timeStart(
  dataDir: string,
  ports: Ports,
  kind: StartFigure['kind'],
  holdMs: number,
): Promise<StartFigure> {
  const load = loadAverage();
  const began = Date.now();
  const child = spawn(process.execPath, ['bin/heru.js', 'serve'], {
    cwd: REPO_ROOT,
    env: serverEnv(dataDir, ports),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const marks: StartFigure['marks'] = [];
  let cpuS = Number.NaN;
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (text) => {
      tail.push(text);
      if (tail.length > 20) tail.shift();
      try {
        const line = JSON.parse(text) as { time?: string; msg?: string; origin?: string };
        const at = Date.parse(line.time ?? '');
        const msg = String(line.msg).slice(0, 60);
        if (!Number.isNaN(at)) {
          marks.push({
            ms: at - began,
            msg: line.origin ? `${msg} (${line.origin})` : msg,
          });
        }
      } catch {
        // Not pino JSON: kept in the tail only.
      }
    });
  }
  try {
    for (;;) {
      if (child.exitCode !== null) {
        throw new Error(`the server exited (${child.exitCode}):\n${tail.join('\n')}`);
      }
      if (await healthy(ports.http)) {
        cpuS = cpuSeconds(child.pid!) ?? Number.NaN;
        break;
      }
      if (Date.now() - began > START_LIMIT_MS) {
        throw new Error(`no healthy /health after ${START_LIMIT_MS} ms`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const healthyMs = Date.now() - began;
    await new Promise((r) => setTimeout(r, holdMs));
    return { kind, healthyMs, cpuS, load, marks };
  } finally {
    await stop(child);
  }
}

function printStart(run: number, f: StartFigure): void {
  console.log(
    `run ${run} ${f.kind.padEnd(5)} start: ${String(f.healthyMs).padStart(6)} ms to a healthy /health, ${f.cpuS.toFixed(2)} CPU s (load average ${f.load.toFixed(2)})`,
  );
  for (const m of f.marks) console.log(`    ${String(m.ms).padStart(6)} ms  ${m.msg}`);
}

function summary(figures: StartFigure[], kind: StartFigure['kind']): string {
  const some = figures.filter((f) => f.kind === kind);
  if (some.length === 0) return `${kind}: none`;
  const ms = some.map((f) => f.healthyMs);
  const sorted = [...ms].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const cpu = some.map((f) => f.cpuS.toFixed(2)).join(', ');
  return `${kind} starts: ${ms.join(', ')} ms (min ${sorted[0]}, median ${median}, max ${sorted.at(-1)}); CPU s ${cpu}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      restarts: { type: 'string', default: '1' },
      hold: { type: 'string', default: '0' },
      keep: { type: 'boolean', default: false },
    },
  });
  const runs = Math.min(20, Math.max(1, Number(values.runs)));
  const restarts = Math.min(20, Math.max(0, Number(values.restarts)));
  const holdMs = Math.min(600, Math.max(0, Number(values.hold))) * 1000;
  console.log(
    `Heru start-up benchmark, ${new Date().toISOString()}; ${os.cpus().length} CPUs, node ${process.version}; load average ${loadAverage().toFixed(2)}`,
  );
  const figures: StartFigure[] = [];
  for (let run = 1; run <= runs; run += 1) {
    const dataDir = mkdtempSync(join(os.tmpdir(), 'heru-startup-'));
    const ports = {
      http: await freePort(),
      mqtts: await freePort(),
      mqtt: await freePort(),
    };
    try {
      for (let i = 0; i <= restarts; i += 1) {
        const f = await timeStart(dataDir, ports, i === 0 ? 'first' : 'later', holdMs);
        figures.push(f);
        printStart(run, f);
      }
    } finally {
      if (values.keep) console.log(`kept ${dataDir}`);
      else rmSync(dataDir, { recursive: true, force: true });
    }
  }
  console.log(summary(figures, 'first'));
  console.log(summary(figures, 'later'));
  console.log(`load average at the end ${loadAverage().toFixed(2)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
