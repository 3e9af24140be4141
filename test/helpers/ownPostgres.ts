/**
 * A PostgreSQL server of the test's own, so that a test may stop it and start it
 * again (the machine's shared server must never be stopped): `initdb` into a
 * temporary folder, then `pg_ctl start` on a free loopback port with its socket in
 * that folder, durability switched off (the data is thrown away). PostgreSQL refuses
 * to run as root; under root every command runs as the `postgres` user.
 *
 * The binaries are PG_BIN's, else those of the newest version under
 * /usr/lib/postgresql, else whatever `initdb` the PATH finds.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);

export class OwnPostgres {
  private running = false;

  private constructor(
    private readonly dir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly asUser: string | undefined,
  ) {}

  /** Creates the cluster and starts it; `url()` then reaches it. */
  static async create(): Promise<OwnPostgres> {
    const asUser = process.getuid?.() === 0 ? 'postgres' : undefined;
    const dir = mkdtempSync(join(tmpdir(), 'heru-pg-'));
    if (asUser) {
      const uid = Number(execFileSync('id', ['-u', asUser], { encoding: 'utf8' }));
      const gid = Number(execFileSync('id', ['-g', asUser], { encoding: 'utf8' }));
      chownSync(dir, uid, gid);
    }
    const pg = new OwnPostgres(dir, await freePort(), binDir(), asUser);
    await pg.exec('initdb', [
      '-D',
      pg.dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    stopOnExit.add(pg);
    await pg.start();
    return pg;
  }

  /** `postgres://postgres@127.0.0.1:{port}/{database}` */
  url(database = 'postgres'): URL {
    return new URL(`postgres://postgres@127.0.0.1:${this.port}/${database}`);
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** Starts the server and waits until it takes connections. */
  async start(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
    ].join(' ');
    await this.exec('pg_ctl', [
      'start',
      '-D',
      this.dataDir,
      '-l',
      join(this.dir, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      options,
    ]);
    this.running = true;
  }

  /**
   * Stops it the way an operator's `pg_ctl stop -m fast` does: open transactions are
   * rolled back and every client is disconnected. Resolves once it has stopped.
   */
  async stop(): Promise<void> {
    await this.exec('pg_ctl', ['stop', '-D', this.dataDir, '-m', 'fast', '-w']);
    this.running = false;
  }

  /** Stops it at once and removes its files. */
  async destroy(): Promise<void> {
    if (this.running) {
      await this.exec('pg_ctl', ['stop', '-D', this.dataDir, '-m', 'immediate', '-w']);
      this.running = false;
    }
    stopOnExit.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous immediate stop, for a test runner that exits without cleaning up. */
  stopNow(): void {
    if (!this.running) return;
    const [file, args] = this.command('pg_ctl', [
      'stop',
      '-D',
      this.dataDir,
      '-m',
      'immediate',
    ]);
    spawnSync(file, args, { stdio: 'ignore', timeout: 10_000 });
  }

  private async exec(tool: string, args: string[]): Promise<void> {
    const [file, argv] = this.command(tool, args);
    try {
      await run(file, argv, { timeout: 90_000, cwd: this.dir });
    } catch (err) {
      const e = err as Error & { stderr?: string; stdout?: string };
      throw new Error(
        `${tool} ${args[0] ?? ''} failed: ${e.message}\n` +
          `${e.stdout ?? ''}${e.stderr ?? ''}`,
      );
    }
  }

  private command(tool: string, args: string[]): [string, string[]] {
    const path = join(this.bin, tool);
    return this.asUser
      ? ['runuser', ['-u', this.asUser, '--', path, ...args]]
      : [path, args];
  }
}

/** Folder of initdb and pg_ctl. */
function binDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const initdb = found.stdout.trim();
  if (initdb) return initdb.slice(0, initdb.lastIndexOf('/'));
  throw new Error(
    'no PostgreSQL server binaries found: install postgresql or set PG_BIN to the ' +
      'folder holding initdb and pg_ctl',
  );
}

// A test runner that dies mid-test must not leave a server running.
const stopOnExit = new Set<OwnPostgres>();
process.once('exit', () => {
  for (const pg of stopOnExit) pg.stopNow();
});
