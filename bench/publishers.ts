/**
 * Starts bench/publisher.ts as a child process and follows its progress.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PublisherJob, PublisherReport } from './publisher.js';

const SCRIPT = fileURLToPath(new URL('./publisher.ts', import.meta.url));

export interface Publishers {
  pid: number;
  /** Messages the broker has acknowledged so far. */
  acked(): number;
  /** Resolves once every message is acknowledged: how long it took, CPU used. */
  done: Promise<{ seconds: number; cpuSeconds: number }>;
  stop(): void;
}

export function startPublishers(job: PublisherJob): Publishers {
  const child = fork(SCRIPT, [JSON.stringify(job)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let acked = 0;
  const done = new Promise<{ seconds: number; cpuSeconds: number }>((resolve, reject) => {
    child.on('message', (m: PublisherReport) => {
      if (m.kind === 'progress') acked = m.acked;
      else if (m.kind === 'done') {
        acked = m.acked;
        resolve({ seconds: m.seconds, cpuSeconds: m.cpuSeconds });
      } else reject(new Error(`publishers failed: ${m.reason}`));
    });
    // After `done` this changes nothing; before it, the publishers gave up.
    child.on('exit', (code) => reject(new Error(`publishers exited with ${code}`)));
  });
  // Handled by whoever awaits `done`; this keeps an early failure from going unheard.
  done.catch(() => undefined);
  return {
    pid: child.pid!,
    acked: () => acked,
    done,
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}
