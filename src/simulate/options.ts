/**
 * The options of `heru simulate`, read from the command line into a checked form.
 */
import { parseArgs } from 'node:util';
import { isValidDeviceId } from '../ingest/deviceId.js';
import type { WireFormat } from './payload.js';
import { MAX_BATCH } from './payload.js';

export const SIMULATE_HELP = `heru simulate [options]                publish simulated fridges
heru simulate --replay FILE [options]  replay a logger file as one device

Connection:
  --url URL          broker, mqtt:// or mqtts:// (default: MQTT_URL, or MQTT_BROKER
                     and MQTT_PORT; TLS files and credentials from MQTT_CA_FILE,
                     MQTT_CERT_FILE, MQTT_KEY_FILE, MQTT_USERNAME, MQTT_PASSWORD)
  --client-id ID     MQTT client id (default heru-sim-<random>)

Simulated devices:
  --devices N        number of devices (default 1, at most 10000)
  --interval S       seconds between two readings of a device (default 30)
  --prefix P         device ids P-001, P-002, ... (default sim-fridge)
  --duration S       stop after S seconds (default 3600 unless --count is given)
  --count N          stop after N readings per device
  --excursions       thermostat faults: warm (stuck off) and freezing (stuck on) episodes
  --faults           sensor faults: -127 (probe lost), 85.0 after a reboot, NaN sent as null
  --offline          offline periods, then a burst of the buffered readings
  --format F         heru-v1 (default; heru/v1/devices/{id}/readings, QoS 1) or
                     firmware (heru/sensors/{id}, QoS 0, no time; loses readings offline)
  --seed N           same seed, same values (default: random, printed at the end)

Replay:
  --replay FILE      a Fridge-tag 2 L text export or a RuuviTag CSV
  --device ID        device id (default: the Fridge-tag's serial number, or the file name)
  --tz ZONE          time zone of the file's local times: IANA name, UTC or +02:00
                     (default UTC)
  --rate N           readings per second (default: as fast as the broker acknowledges)
  --batch N          readings per message (default 500, at most ${MAX_BATCH})

  -h, --help         this text

Stops cleanly on SIGINT or SIGTERM; a second signal exits at once.`;

export interface ConnectionOptions {
  url?: URL;
  clientId?: string;
}

export interface LiveCommand extends ConnectionOptions {
  mode: 'live';
  devices: number;
  intervalMs: number;
  prefix: string;
  durationMs?: number;
  count?: number;
  excursions: boolean;
  faults: boolean;
  offline: boolean;
  format: WireFormat;
  seed?: number;
}

export interface ReplayCommand extends ConnectionOptions {
  mode: 'replay';
  file: string;
  deviceId?: string;
  tz: string;
  rate?: number;
  batchSize: number;
}

export type SimulateCommand = LiveCommand | ReplayCommand | { mode: 'help' };

/** A mistake on the command line; the message says which option and what it takes. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const OPTIONS = {
  url: { type: 'string' },
  'client-id': { type: 'string' },
  devices: { type: 'string' },
  interval: { type: 'string' },
  prefix: { type: 'string' },
  duration: { type: 'string' },
  count: { type: 'string' },
  excursions: { type: 'boolean' },
  faults: { type: 'boolean' },
  offline: { type: 'boolean' },
  format: { type: 'string' },
  seed: { type: 'string' },
  replay: { type: 'string' },
  device: { type: 'string' },
  tz: { type: 'string' },
  rate: { type: 'string' },
  batch: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const LIVE_ONLY = [
  'devices',
  'interval',
  'prefix',
  'duration',
  'count',
  'excursions',
  'faults',
  'offline',
  'format',
  'seed',
] as const;
const REPLAY_ONLY = ['device', 'tz', 'rate', 'batch'] as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** Reads the command line; throws UsageError on anything it does not understand. */
export function parseSimulateArgs(args: readonly string[]): SimulateCommand {
  let values: Values;
  try {
    values = parseArgs({ args: [...args], options: OPTIONS, strict: true }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return { mode: 'help' };
  const connection = connectionOf(values);
  if (values.replay !== undefined) {
    refuse(values, LIVE_ONLY, 'live simulation, not to --replay');
    return { mode: 'replay', ...connection, ...replayOf(values, values.replay) };
  }
  refuse(values, REPLAY_ONLY, '--replay');
  return { mode: 'live', ...connection, ...liveOf(values) };
}

function connectionOf(v: Values): ConnectionOptions {
  const out: ConnectionOptions = {};
  if (v.url !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(v.url);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:')) {
      throw new UsageError(
        `--url takes mqtt://host:port or mqtts://host:port, got ${v.url}`,
      );
    }
    out.url = url;
  }
  if (v['client-id'] !== undefined) {
    if (!/^[\w.:-]{1,128}$/.test(v['client-id'])) {
      throw new UsageError(
        '--client-id takes 1–128 letters, digits, ".", ":", "_" or "-"',
      );
    }
    out.clientId = v['client-id'];
  }
  return out;
}

function liveOf(v: Values): Omit<LiveCommand, 'mode' | keyof ConnectionOptions> {
  const format = v.format ?? 'heru-v1';
  if (format !== 'heru-v1' && format !== 'firmware') {
    throw new UsageError(`--format takes heru-v1 or firmware, got ${format}`);
  }
  const prefix = v.prefix ?? 'sim-fridge';
  if (!isValidDeviceId(`${prefix}-00000`)) {
    throw new UsageError(
      `--prefix ${prefix} would not make valid device ids ([A-Za-z0-9._:-])`,
    );
  }
  const count = optional(v.count, (s) => whole('--count', s, 1, 1e9));
  const out: Omit<LiveCommand, 'mode' | keyof ConnectionOptions> = {
    devices: whole('--devices', v.devices ?? '1', 1, 10_000),
    intervalMs: Math.round(
      decimal('--interval', v.interval ?? '30', 0.01, 86_400) * 1000,
    ),
    prefix,
    excursions: v.excursions ?? false,
    faults: v.faults ?? false,
    offline: v.offline ?? false,
    format,
  };
  const duration = v.duration ?? (count === undefined ? '3600' : undefined);
  if (duration !== undefined)
    out.durationMs = decimal('--duration', duration, 0.01, 1e8) * 1000;
  if (count !== undefined) out.count = count;
  if (v.seed !== undefined) out.seed = whole('--seed', v.seed, 0, 2 ** 32 - 1);
  return out;
}

function replayOf(
  v: Values,
  file: string,
): Omit<ReplayCommand, 'mode' | keyof ConnectionOptions> {
  const out: Omit<ReplayCommand, 'mode' | keyof ConnectionOptions> = {
    file,
    tz: v.tz ?? 'UTC',
    batchSize: whole('--batch', v.batch ?? '500', 1, MAX_BATCH),
  };
  if (v.device !== undefined) {
    if (!isValidDeviceId(v.device)) {
      throw new UsageError(
        `--device takes 1–64 characters of [A-Za-z0-9._:-], got ${v.device}`,
      );
    }
    out.deviceId = v.device;
  }
  if (v.rate !== undefined) out.rate = decimal('--rate', v.rate, 0.01, 1e9);
  return out;
}

function refuse(v: Values, names: readonly (keyof Values)[], appliesTo: string): void {
  const given = names.filter((n) => v[n] !== undefined);
  if (given.length > 0) {
    const list = given.map((n) => `--${n}`).join(', ');
    throw new UsageError(
      `${list} ${given.length > 1 ? 'apply' : 'applies'} to ${appliesTo}`,
    );
  }
}

function optional<T>(s: string | undefined, f: (s: string) => T): T | undefined {
  return s === undefined ? undefined : f(s);
}

function whole(name: string, s: string, min: number, max: number): number {
  const n = Number(s);
  if (!/^\d+$/.test(s.trim()) || n < min || n > max) {
    throw new UsageError(`${name} takes a whole number from ${min} to ${max}, got ${s}`);
  }
  return n;
}

function decimal(name: string, s: string, min: number, max: number): number {
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${name} takes a number from ${min} to ${max}, got ${s}`);
  }
  return n;
}
