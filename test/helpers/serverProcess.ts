/**
 * The server as a child process, the way an operator runs it
 * (`node --import tsx src/cli/main.ts serve` from the repository root), so a test can
 * kill it with SIGKILL, stop it with SIGTERM and start it again with the same MQTT
 * client id, and read what it logged.
 *
 * Each start is a "run", numbered from 1; every log line remembers its run. The HTTP
 * port is chosen once and kept across restarts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Settings a developer's `.env` might hold that would change what a test sees; set
 * blank (which the server reads as "unset") unless the test gives them.
 */
const NEUTRAL_ENV = [
  'MQTT_BROKER',
  'MQTT_PORT',
  'MQTT_CA_FILE',
  'MQTT_CERT_FILE',
  'MQTT_KEY_FILE',
  'MQTT_USERNAME',
  'MQTT_PASSWORD',
  'MQTT_SHARED_GROUP',
  'MQTT_RECEIVE_MAXIMUM',
  'MQTT_KEEPALIVE',
  'INGEST_BATCH_SIZE',
  'INGEST_LINGER_MS',
  'INGEST_MAX_PENDING',
];

export interface ServerProcessOptions {
  databaseUrl: URL | string;
  mqttUrl: string;
  /** Fixed MQTT client id: the persistent session a restart resumes. */
  clientId: string;
  /** Further variables, e.g. INGEST_MAX_PENDING or MQTT_CA_FILE. */
  env?: Record<string, string>;
  /** Pino level of the child, default `info`. */
  logLevel?: string;
  /** Milliseconds to wait for `/ready` at each start, default 60 000. */
  readyTimeoutMs?: number;
  /** The role to run: `serve` (default, every role), `ingest` or `worker`. */
  command?: 'serve' | 'ingest' | 'worker';
  /**
   * A folder `buildIngest` (bench/ingestProcess.ts) compiled src/ into: run that
   * JavaScript, as an installed server runs, instead of src/ through tsx (whose
   * loader adds about 80 MB of resident memory).
   */
  compiledIn?: string;
}

/** One line the server wrote: its pino JSON when it is JSON, else the text. */
export interface LogLine {
  run: number;
  stream: 'stdout' | 'stderr';
  text: string;
  json?: Record<string, unknown>;
}

export interface HealthAnswer {
  status: number;
  body: { status: string; checks: Record<string, Record<string, unknown>> };
}

export class ServerProcess {
  readonly logs: LogLine[] = [];
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);
  private runs = 0;

  private constructor(
    private readonly options: ServerProcessOptions,
    readonly port: number,
  ) {}

  /** Spawns the server on a free port and waits until `/ready` answers 200. */
  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const server = new ServerProcess(options, await freePort());
    await server.start();
    return server;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get clientId(): string {
    return this.options.clientId;
  }

  /** Number of the current (or last) run, from 1. */
  get run(): number {
    return this.runs;
  }

  /** Process id of the current run, for reading its memory from /proc. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && isAlive(this.child);
  }

  /** Starts a new run with the same port and client id; waits for `/ready`. */
  async start(): Promise<void> {
    if (this.running) throw new Error('the server process is already running');
    this.runs += 1;
    const built = this.options.compiledIn;
    const entry = built
      ? [join(built, 'dist/cli/main.js')]
      : ['--import', 'tsx', 'src/cli/main.ts'];
    const child = spawn(process.execPath, [...entry, this.options.command ?? 'serve'], {
      cwd: built ?? REPO_ROOT,
      env: this.childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.on('error', (err) => {
      this.logs.push({ run: this.runs, stream: 'stderr', text: `spawn: ${err.message}` });
    });
    this.collect(child, 'stdout');
    this.collect(child, 'stderr');
    killOnExit.add(child);
    void this.exited.then(() => killOnExit.delete(child));
    await this.waitForReady(child);
  }

  /** SIGKILL: no drain, no goodbye to the broker or the database. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGTERM, then SIGKILL when it has not exited within `ms`; returns the exit code. */
  async stop(ms = 15_000): Promise<number | null> {
    const child = this.child;
    if (!child || !isAlive(child)) return child?.exitCode ?? null;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async health(): Promise<HealthAnswer> {
    const res = await fetch(`${this.baseUrl}/health`, {
      signal: AbortSignal.timeout(5_000),
    });
    return { status: res.status, body: (await res.json()) as HealthAnswer['body'] };
  }

  /** The log lines of one run (default the current one) that carry pino JSON. */
  events(run = this.runs): Array<Record<string, unknown>> {
    return this.logs.flatMap((l) => (l.run === run && l.json ? [l.json] : []));
  }

  /** Everything written so far, for a failure message. */
  output(lastLines = 60): string {
    return this.logs
      .slice(-lastLines)
      .map((l) => `[run ${l.run} ${l.stream}] ${l.text}`)
      .join('\n');
  }

  private childEnv(): NodeJS.ProcessEnv {
    const o = this.options;
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    for (const name of NEUTRAL_ENV) env[name] = '';
    return {
      ...env,
      DATABASE_URL: o.databaseUrl.toString(),
      MQTT_URL: o.mqttUrl,
      MQTT_CLIENT_ID: o.clientId,
      HTTP_PORT: String(this.port),
      HTTP_HOST: '127.0.0.1',
      // Local IPFS store and ledger per server, kept across its restarts.
      HERU_DATA_DIR: join(tmpdir(), `heru-test-data-${o.clientId}`),
      LOG_LEVEL: o.logLevel ?? 'info',
      ...o.env,
    };
  }

  private collect(child: ChildProcess, stream: 'stdout' | 'stderr'): void {
    const run = this.runs;
    const source = child[stream];
    if (!source) return;
    createInterface({ input: source }).on('line', (text) => {
      const line: LogLine = { run, stream, text };
      if (text.startsWith('{')) {
        try {
          line.json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // A line cut short by SIGKILL stays as text.
        }
      }
      this.logs.push(line);
    });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || !isAlive(child)) return;
    child.kill(signal);
    await this.exited;
  }

  private async waitForReady(child: ChildProcess): Promise<void> {
    const ms = this.options.readyTimeoutMs ?? 60_000;
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!isAlive(child)) {
        throw new Error(
          `the server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${this.output()}`,
        );
      }
      const ok = await fetch(`${this.baseUrl}/ready`, {
        signal: AbortSignal.timeout(2_000),
      }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    throw new Error(`the server was not ready within ${ms} ms:\n${this.output()}`);
  }
}

/** Neither exited nor ended by a signal. */
function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

// A test runner that dies mid-test must not leave servers behind on the broker.
const killOnExit = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of killOnExit) child.kill('SIGKILL');
});
