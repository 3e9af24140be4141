/**
 * Command-line options of `npm run bench -- [options]`.
 */
import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Readings published, one per message, in the headline burst; default 1,000,000. */
  burst: number;
  /** Simulated devices; default 1000. */
  devices: number;
  /** Publisher connections; default 4. */
  connections: number;
  /** Unacknowledged messages per publisher connection; default 1000. */
  window: number;
  /** Total publish rate in messages/s; default 0 (as fast as the broker takes them). */
  rate: number;
  /** Readings per message of the second, batched-message figure; 0 skips it. */
  perMessage: number;
  /** Readings in the batched-message figure; default a fifth of the burst. */
  batchedReadings: number;
  /** Messages of the one-message-per-commit baseline; 0 skips it. */
  baseline: number;
  /** Time the plain bulk insert of the same rows (the ceiling); default on. */
  ceiling: boolean;
  /** Kill the ingest (SIGKILL) at 40 % of the burst, restart it, check nothing is lost. */
  crash: boolean;
  runner: 'tsx' | 'dist';
  /** Write a V8 CPU profile of the ingest to this folder. */
  cpuProf?: string;
  /** Extra Node.js/V8 flags for the ingest process, e.g. `--heap-growing-percent=30`. */
  nodeFlags: string[];
  /** Keep the databases and broker folder for a look afterwards. */
  keep: boolean;
  /** Run only this phase: `alert` measures its own maximum with a shorter burst. */
  only?: 'alert';
  /** Alarms timed by the alert-latency phase; default 100. */
  alertSamples: number;
}

const USAGE = `npm run bench -- [options]
  --burst N          readings in the headline burst, one per message (default 1000000)
  --quick            smoke run: --burst 100000 --baseline 2000 --per-message 10
  --devices N        simulated devices (default 1000)
  --connections N    publisher connections (default 4)
  --window N         unacknowledged messages per publisher connection (default 1000)
  --rate N           total publish rate, messages/s (default: as fast as possible)
  --per-message N    readings per message for the second figure (default 10; 0 skips)
  --baseline N       messages for the one-message-per-commit figure (default 5000; 0 skips)
  --no-ceiling       skip the plain bulk insert
  --crash            SIGKILL the ingest at 40 % of the burst, restart, check nothing is lost
  --runner dist|tsx  run the ingest compiled to JavaScript first, as installed (default;
                     compiled into the bench's own folder), or from src/ through tsx
  --cpu-prof DIR     write a V8 CPU profile of the ingest into DIR
  --node-flags "..." extra Node.js/V8 flags for the ingest process
  --keep             keep the databases and the broker's folder
  --only alert       only the alert-latency phase (publish -> webhook at half the maximum
                     load), with its own calibration burst of 300000 readings
  --alert-samples N  alarms timed by the alert-latency phase (default 100)
Ingest settings (INGEST_BATCH_SIZE, INGEST_LINGER_MS, INGEST_MAX_PENDING,
MQTT_RECEIVE_MAXIMUM, ...) are passed from the environment to the ingest.`;

function count(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`--${name} takes a whole number, got ${v}`);
  return n;
}

export function readOptions(argv: string[]): BenchOptions | 'help' {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      burst: { type: 'string' },
      quick: { type: 'boolean', default: false },
      devices: { type: 'string' },
      connections: { type: 'string' },
      window: { type: 'string' },
      rate: { type: 'string' },
      'per-message': { type: 'string' },
      baseline: { type: 'string' },
      'no-ceiling': { type: 'boolean', default: false },
      crash: { type: 'boolean', default: false },
      runner: { type: 'string', default: 'dist' },
      'cpu-prof': { type: 'string' },
      'node-flags': { type: 'string' },
      keep: { type: 'boolean', default: false },
      only: { type: 'string' },
      'alert-samples': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (v.help) return 'help';
  if (v.runner !== 'tsx' && v.runner !== 'dist')
    throw new Error('--runner is tsx or dist');
  const quick = v.quick === true;
  const burst = count(v.burst, 'burst', quick ? 100_000 : 1_000_000);
  const opts: BenchOptions = {
    burst,
    devices: count(v.devices, 'devices', 1000),
    connections: Math.max(1, count(v.connections, 'connections', 4)),
    window: Math.max(1, count(v.window, 'window', 1000)),
    rate: count(v.rate, 'rate', 0),
    perMessage: count(v['per-message'], 'per-message', 10),
    batchedReadings: Math.max(1000, Math.round(burst / 5)),
    baseline: count(v.baseline, 'baseline', quick ? 2000 : 5000),
    ceiling: v['no-ceiling'] !== true,
    crash: v.crash === true,
    runner: v.runner,
    keep: v.keep === true,
    nodeFlags: (v['node-flags'] ?? '').split(' ').filter(Boolean),
    alertSamples: Math.max(1, count(v['alert-samples'], 'alert-samples', 100)),
  };
  if (v['cpu-prof'] !== undefined) opts.cpuProf = v['cpu-prof'];
  if (v.only !== undefined) {
    if (v.only !== 'alert') throw new Error('--only takes alert');
    opts.only = v.only;
  }
  if (opts.devices < 1 || opts.burst < opts.devices)
    throw new Error('--burst must be at least --devices, and --devices at least 1');
  return opts;
}

export function usage(): string {
  return USAGE;
}
