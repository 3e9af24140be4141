import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForPort } from './ports.js';

const CONF_D = fileURLToPath(new URL('../../deploy/mosquitto/conf.d', import.meta.url));

export interface TestBroker {
  port: number;
  url: string;
  dir: string;
  /** Stops the broker (SIGTERM, so it saves its persistence). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same persistence. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
}

/**
 * A Mosquitto of the test's own on a free loopback port, with the queue and
 * persistence settings the project ships (deploy/mosquitto/conf.d).
 */
export async function startBroker(extraConf = ''): Promise<TestBroker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'heru-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      'per_listener_settings false',
      // Run as whoever runs the tests, so the broker can write its persistence here.
      `user ${userInfo().username}`,
      `persistence_location ${dir}/`,
      'log_dest stderr',
      'log_type error',
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      extraConf,
      `include_dir ${CONF_D}`,
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;

  const broker: TestBroker = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    async start() {
      child = spawn('mosquitto', ['-c', conf], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      await waitForPort(port);
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
      });
    },
    async destroy() {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await broker.start();
  return broker;
}
