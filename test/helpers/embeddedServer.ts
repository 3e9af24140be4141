/**
 * `heru serve` as a child process with none of the service variables set (blank,
 * whatever a `.env` says), HERU_DATA_DIR in a folder of the test, and free ports: the
 * embedded default as `npm start` runs it. `env` sets some parts to real services.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { REPO_ROOT, runCli, type CliResult } from './anchor.js';
import { waitFor } from './app.js';
import { freePort } from './ports.js';

export interface Ports {
  http: number;
  mqtts: number;
  mqtt: number;
}

/** One run of the server as a child process; its log lines as parsed pino JSON. */
export class EmbeddedServer {
  readonly logs: Array<Record<string, unknown>> = [];
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dataDir: string,
    readonly ports: Ports,
    private readonly extraEnv: Record<string, string> = {},
    private readonly args: string[] = [],
  ) {}

  /**
   * A server on free ports; `env` overrides, e.g. DATABASE_URL for a real one;
   * `args` follow `serve` (`--simulate 2`).
   */
  static async create(
    dataDir: string,
    env: Record<string, string> = {},
    args: string[] = [],
  ): Promise<EmbeddedServer> {
    const ports = {
      http: await freePort(),
      mqtts: await freePort(),
      mqtt: await freePort(),
    };
    return new EmbeddedServer(dataDir, ports, env, args);
  }

  /** The messages logged so far. */
  messages(): string[] {
    return this.logs.map((l) => String(l.msg));
  }

  /** Starts and resolves with the milliseconds until /health answers 200. */
  async start(): Promise<number> {
    const began = Date.now();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'serve', ...this.args],
      {
        cwd: REPO_ROOT,
        env: this.env(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (text) => {
        try {
          this.logs.push(JSON.parse(text) as Record<string, unknown>);
        } catch {
          this.logs.push({ msg: text });
        }
      });
    }
    await waitFor(
      async () => ((await this.healthStatus()) === 200 ? true : undefined),
      60_000,
      `a healthy /health; log: ${JSON.stringify(this.logs.slice(-20))}`,
    );
    return Date.now() - began;
  }

  async healthStatus(): Promise<number | undefined> {
    if (this.child?.exitCode !== null) throw new Error('the server exited');
    return fetch(`http://127.0.0.1:${this.ports.http}/health`, {
      signal: AbortSignal.timeout(2_000),
    }).then(
      (r) => r.status,
      () => undefined,
    );
  }

  /** Kills the server with SIGKILL: no drain, no close, as a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** No service variables (blank reads as unset, whatever a `.env` says). */
  env(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: '',
      MQTT_URL: '',
      MQTT_BROKER: '',
      REDIS_URL: '',
      HERU_DATA_DIR: this.dataDir,
      HTTP_PORT: String(this.ports.http),
      HTTP_HOST: '127.0.0.1',
      EMBEDDED_MQTTS_PORT: String(this.ports.mqtts),
      EMBEDDED_MQTT_PORT: String(this.ports.mqtt),
      ANCHOR_BATCH_WINDOW: '1',
      LOG_LEVEL: 'info',
      ...this.extraEnv,
    };
  }
}

/**
 * Runs `heru serve` in embedded mode (no DATABASE_URL, MQTT_URL, REDIS_URL) on free
 * loopback ports until it exits by itself: for starts that must fail. `env` overrides
 * any of it (a port that is taken, a data folder).
 */
export async function serveUntilExit(
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<CliResult> {
  return runCli(
    ['serve'],
    {
      HOME: process.env.HOME ?? '',
      DATABASE_URL: '',
      MQTT_URL: '',
      MQTT_BROKER: '',
      REDIS_URL: '',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(await freePort()),
      EMBEDDED_MQTTS_PORT: String(await freePort()),
      EMBEDDED_MQTT_PORT: String(await freePort()),
      ...env,
    },
    timeoutMs,
  );
}
