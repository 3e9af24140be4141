import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { readConfig } from '../../config/config.js';
import { loadEnv } from '../../config/env.js';
import { migrate } from '../../db/migrate.js';
import { createPool, type Pool } from '../../db/pool.js';
import { DEFAULT_DEVICE_SETTINGS } from '../../ingest/codecs/deviceSettings.js';
import { isValidDeviceId } from '../../ingest/deviceId.js';
import { createLogger } from '../../log.js';
import {
  getDeviceSetting,
  loadDeviceSettings,
  parseDeviceSetting,
  putDeviceSetting,
} from '../../mappings/deviceSettingStore.js';
import { dryRun } from '../../mappings/dryRun.js';
import { parseMapping } from '../../mappings/mapping.js';
import { MappingError } from '../../mappings/mappingError.js';
import { databaseUrlOf } from '../../embedded/databaseUrl.js';
import {
  compileStored,
  deleteMapping,
  getMapping,
  listMappingChanges,
  listMappings,
  putMapping,
} from '../../mappings/mappingStore.js';

const USAGE = `heru mapping <command> …   describe a device format without code (docs/mapping.md)

  list                         the mappings, with their MQTT filters
  show <name>                  one mapping as JSON
  put <name> [--file f.json | --json '{…}'] [--topic t] [--temperature '$.t'] …
                               create or replace a mapping; each field may be given
                               as a flag (--device-id, --humidity, --time,
                               --time-format, --time-pattern, --time-zone, --unit,
                               --format, --value, --readings, --sensor, --battery-pct,
                               --battery-v, --rssi, --boot, --seq, --description)
  delete <name>                remove a mapping
  history <name>               who changed it, when, from what to what
  test <name> --topic t --payload p
                               what ingest would store for that message (nothing is stored)
  device <device-id> [--time-zone Europe/Berlin|none] [--unit C|F|none]
                     [--kind name=temperature|humidity|rssi|ignore|none …]
                               a device's settings (Tasmota time zone, ESPHome sensor kinds)

  --by <who>      who makes the change (default: the system user); --comment <text>

Running servers pick up a change at once. Settings come from the environment and .env
(DATABASE_URL).`;

const FIELD_FLAGS = [
  'topic',
  'format',
  'value',
  'device-id',
  'readings',
  'sensor',
  'time',
  'time-format',
  'time-pattern',
  'time-zone',
  'temperature',
  'humidity',
  'battery-pct',
  'battery-v',
  'rssi',
  'boot',
  'seq',
  'unit',
  'description',
] as const;

const OPTIONS = {
  file: { type: 'string' },
  json: { type: 'string' },
  payload: { type: 'string' },
  by: { type: 'string' },
  comment: { type: 'string' },
  kind: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
  ...Object.fromEntries(FIELD_FLAGS.map((f) => [f, { type: 'string' }])),
} as const;

type Values = Record<string, string | string[] | boolean | undefined>;

/** `heru mapping …`: operator mappings and device settings, straight in PostgreSQL. */
export async function runMapping(args: string[]): Promise<void> {
  const parsed = parseArgs({
    args,
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  const values = parsed.values as Values;
  const [sub, target] = parsed.positionals;
  const needsTarget = sub !== 'list';
  if (values.help || sub === undefined || (needsTarget && target === undefined)) {
    console.log(USAGE);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const config = readConfig(loadEnv());
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const pool = createPool(databaseUrlOf(config), log, { max: 2 });
  try {
    await migrate(pool, log);
    await dispatch(pool, sub, target ?? '', values);
  } catch (err) {
    if (!(err instanceof MappingError)) throw err;
    console.error(`heru mapping: ${err.message}`);
    process.exitCode = 1;
  } finally {
    await pool.end();
  }
}

async function dispatch(
  pool: Pool,
  sub: string,
  target: string,
  v: Values,
): Promise<void> {
  const by = str(v.by) ?? userInfo().username;
  const note = str(v.comment) ?? null;
  switch (sub) {
    case 'list':
      return list(pool);
    case 'show':
      return print((await found(pool, target)).definition);
    case 'put':
      return put(pool, target, v, by, note);
    case 'delete':
      if (!(await deleteMapping(pool, target, by, note)))
        throw new MappingError(
          `no mapping ${JSON.stringify(target)}; see heru mapping list`,
        );
      console.log(`mapping ${target} deleted`);
      return;
    case 'history':
      return print(await listMappingChanges(pool, target));
    case 'test':
      return test(pool, target, v);
    case 'device':
      return device(pool, target, v, by);
    default:
      throw new MappingError(
        `unknown command ${JSON.stringify(sub)}; see heru mapping --help`,
      );
  }
}

async function list(pool: Pool): Promise<void> {
  for (const m of await listMappings(pool)) {
    const c = compileStored(m);
    const filter =
      c instanceof MappingError ? `(does not compile: ${c.message})` : c.topic.filter;
    console.log(
      `${m.name.padEnd(24)} ${filter.padEnd(32)} ${m.updated_at.toISOString()} ${m.updated_by}`,
    );
  }
}

async function put(
  pool: Pool,
  name: string,
  v: Values,
  by: string,
  note: string | null,
): Promise<void> {
  const definition = await baseDefinition(v);
  for (const flag of FIELD_FLAGS) {
    const value = str(v[flag]);
    if (value !== undefined) definition[flag.replace(/-/g, '_')] = value;
  }
  const mapping = parseMapping(name, definition);
  const { created } = await putMapping(pool, mapping, by, note);
  console.log(
    `mapping ${name} ${created ? 'created' : 'replaced'}: ${mapping.topic.filter}; running servers subscribe to it now`,
  );
}

async function baseDefinition(v: Values): Promise<Record<string, unknown>> {
  const text = str(v.json) ?? (str(v.file) ? await readFile(str(v.file)!, 'utf8') : '{}');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new MappingError(`the mapping is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new MappingError('the mapping must be a JSON object');
  return parsed as Record<string, unknown>;
}

async function test(pool: Pool, name: string, v: Values): Promise<void> {
  const topic = str(v.topic);
  const payload = str(v.payload);
  if (topic === undefined || payload === undefined)
    throw new MappingError('test needs --topic and --payload');
  const compiled = compileStored(await found(pool, name));
  if (compiled instanceof MappingError) throw compiled;
  const settings = await loadDeviceSettings(pool);
  const devices = {
    settingsOf: (id: string) => settings.get(id) ?? DEFAULT_DEVICE_SETTINGS,
  };
  const result = dryRun(compiled, topic, Buffer.from(payload), devices);
  print(result);
  if (result.outcome === 'quarantined') process.exitCode = 1;
}

async function device(pool: Pool, id: string, v: Values, by: string): Promise<void> {
  if (!isValidDeviceId(id))
    throw new MappingError('a device id is 1–64 of A-Z, a-z, 0-9, ".", "_", ":" and "-"');
  const current = await getDeviceSetting(pool, id);
  const next: Record<string, unknown> = {
    time_zone: current?.time_zone ?? null,
    unit: current?.unit ?? null,
    sensor_kinds: { ...(current?.sensor_kinds ?? {}) },
  };
  const zone = str(v['time-zone']);
  if (zone !== undefined) next.time_zone = zone === 'none' ? null : zone;
  const unit = str(v.unit);
  if (unit !== undefined) next.unit = unit === 'none' ? null : unit;
  const kinds = next.sensor_kinds as Record<string, string>;
  for (const pair of Array.isArray(v.kind) ? v.kind : []) {
    const [sensor, kind] = pair.split('=');
    if (!sensor || !kind)
      throw new MappingError(`--kind takes name=kind, got ${JSON.stringify(pair)}`);
    if (kind === 'none') delete kinds[sensor];
    else kinds[sensor] = kind;
  }
  print(await putDeviceSetting(pool, id, parseDeviceSetting(next), by));
}

async function found(pool: Pool, name: string) {
  const m = await getMapping(pool, name);
  if (!m)
    throw new MappingError(`no mapping ${JSON.stringify(name)}; see heru mapping list`);
  return m;
}

function str(v: Values[string]): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function print(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
