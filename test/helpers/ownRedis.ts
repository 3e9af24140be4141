/**
 * A Redis of the test's own on a free loopback port, without persistence: stopped
 * and started again, it comes back empty, as a Redis without RDB or AOF does after a
 * restart. The machine's shared Redis is never stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from './ports.js';

export class OwnRedis {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  /** Starts one on a free port. */
  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1'];
    args.push('--save', '', '--appendonly', 'no');
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    killOnExit.add(child);
    child.once('exit', () => killOnExit.delete(child));
    await waitForPort(this.port);
  }

  /** SIGKILL: whatever it held is gone. */
  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  }
}

// A test runner that dies mid-test must not leave a Redis behind.
const killOnExit = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of killOnExit) child.kill('SIGKILL');
});
