/**
 * An operator's description of a device format this server has no codec for: which
 * topics it comes on and where each value sits in its payload. Stored in `mapping`
 * as the JSON below (docs/mapping.md), checked here once, then used by the mapped
 * codec (src/ingest/codecs/mapped.ts) without further checks.
 *
 *   { "topic": "acme/{device}/up", "temperature": "$.t", "humidity": "$.rh",
 *     "time": "$.ts", "time_format": "epoch_ms", "unit": "C" }
 */
import { backlog } from '../ingest/codecs/backlog.js';
import { heruFirmware } from '../ingest/codecs/heruFirmware.js';
import { heruV1 } from '../ingest/codecs/heruV1.js';
import { zoneProblem } from '../ingest/codecs/timeZones.js';
import { compilePath, type JsonPath } from './jsonPath.js';
import { MappingError } from './mappingError.js';
import {
  compileTopicPattern,
  filtersOverlap,
  type TopicPattern,
} from './topicPattern.js';
import {
  TIME_FORMATS,
  timeReader,
  type TimeFormat,
  type TimeReader,
} from './timeFormat.js';

/** Values a mapping may locate, by their name in the definition. */
export const MAPPED_FIELDS = [
  'temperature',
  'humidity',
  'battery_pct',
  'battery_v',
  'rssi',
  'boot',
  'seq',
  'sensor',
  'time',
] as const;
export type MappedField = (typeof MAPPED_FIELDS)[number];

export interface Mapping {
  readonly name: string;
  /** The definition as stored and shown, normalised (defaults written out). */
  readonly definition: Readonly<Record<string, unknown>>;
  readonly topic: TopicPattern;
  /** `json`: fields at JSON paths; `plain`: the payload is one number, `value`. */
  readonly format: 'json' | 'plain';
  readonly value: 'temperature' | 'humidity';
  readonly deviceId?: JsonPath;
  readonly readings?: JsonPath;
  readonly paths: Readonly<Partial<Record<MappedField, JsonPath>>>;
  readonly readTime: TimeReader;
  readonly unit: 'C' | 'F';
  /** Zone of times without an offset when the device has none set; default UTC. */
  readonly timeZone?: string;
}

export const MAPPING_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

const KNOWN_KEYS = new Set<string>([
  ...MAPPED_FIELDS,
  'topic',
  'format',
  'value',
  'device_id',
  'readings',
  'time_format',
  'time_pattern',
  'time_zone',
  'unit',
  'description',
]);

/** This server's own topics, which no mapping may take. */
const RESERVED_FILTERS = [heruV1, heruFirmware, backlog].flatMap((c) => c.topics);

/** Checks a definition and compiles it; throws a MappingError saying what is wrong. */
export function parseMapping(name: string, input: unknown): Mapping {
  const d = definitionOf(name, input);
  const topic = compileTopicPattern(text(d, 'topic', true)!);
  const reserved = RESERVED_FILTERS.find((f) => filtersOverlap(f, topic.filter));
  if (reserved !== undefined)
    throw new MappingError(
      `topic ${topic.pattern} overlaps this server's own topic ${reserved}`,
    );
  const format = oneOf(d, 'format', ['json', 'plain'] as const, 'json');
  const paths = format === 'json' ? pathsOf(d) : {};
  const deviceId = rootPath(d, 'device_id');
  const readings = rootPath(d, 'readings');
  checkShape(d, format, topic, paths, deviceId);
  const time = timeOf(d);
  const unit = oneOf(d, 'unit', ['C', 'F'] as const, 'C');
  const value = oneOf(d, 'value', ['temperature', 'humidity'] as const, 'temperature');
  const description = text(d, 'description', false) ?? '';
  if (description.length > 500)
    throw new MappingError('description is at most 500 characters');

  const definition: Record<string, unknown> = {
    ...d,
    format,
    unit,
    time_format: time.format,
  };
  if (format === 'plain') definition.value = value;
  return {
    name,
    definition,
    topic,
    format,
    value,
    ...(deviceId ? { deviceId } : {}),
    ...(readings ? { readings } : {}),
    paths,
    readTime: time.reader,
    unit,
    ...(time.zone !== undefined ? { timeZone: time.zone } : {}),
  };
}

/** The definition as an object of known fields only. */
function definitionOf(name: string, input: unknown): Record<string, unknown> {
  if (!MAPPING_NAME.test(name))
    throw new MappingError('a mapping name is 1–64 of a-z, 0-9, ".", "_" and "-"');
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new MappingError(
      'a mapping is a JSON object, e.g. {"topic": "acme/{device}/up", "temperature": "$.t"}',
    );
  const d = input as Record<string, unknown>;
  const unknown = Object.keys(d).filter((k) => !KNOWN_KEYS.has(k));
  if (unknown.length > 0)
    throw new MappingError(
      `unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}; see docs/mapping.md`,
    );
  return d;
}

function timeOf(d: Record<string, unknown>): {
  format: TimeFormat;
  reader: TimeReader;
  zone: string | undefined;
} {
  const format = oneOf<TimeFormat>(d, 'time_format', TIME_FORMATS, 'auto');
  const pattern = text(d, 'time_pattern', format === 'pattern');
  const zone = text(d, 'time_zone', false);
  const problem = zone === undefined ? undefined : zoneProblem(zone);
  if (problem !== undefined) throw new MappingError(`time_zone: ${problem}`);
  return { format, reader: timeReader(format, pattern), zone };
}

/** A path that is read from the payload itself (`$`), whatever the current reading. */
function rootPath(d: Record<string, unknown>, key: string): JsonPath | undefined {
  const p = optionalPath(d, key);
  if (p?.root === '@')
    throw new MappingError(`${key} is found from the payload: start its path with $`);
  return p;
}

function checkShape(
  d: Record<string, unknown>,
  format: 'json' | 'plain',
  topic: TopicPattern,
  paths: Partial<Record<MappedField, JsonPath>>,
  deviceId: JsonPath | undefined,
): void {
  if (format === 'plain') {
    const extra = [...MAPPED_FIELDS, 'device_id', 'readings'].filter((k) => k in d);
    if (extra.length > 0)
      throw new MappingError(
        `a plain mapping has no JSON paths; remove ${extra.join(', ')}`,
      );
    if (!topic.captures.has('device'))
      throw new MappingError(
        'a plain mapping takes the device id from the topic: put {device} in it',
      );
    return;
  }
  if (!paths.temperature && !paths.humidity)
    throw new MappingError('give the path of temperature, of humidity, or of both');
  if (!deviceId && !topic.captures.has('device'))
    throw new MappingError(
      'say where the device id is: {device} in the topic, or a device_id path',
    );
  if (paths.sensor && topic.captures.has('sensor'))
    throw new MappingError(
      'the probe name comes from {sensor} in the topic or from a sensor path, not both',
    );
}

function pathsOf(d: Record<string, unknown>): Partial<Record<MappedField, JsonPath>> {
  const out: Partial<Record<MappedField, JsonPath>> = {};
  for (const field of MAPPED_FIELDS) {
    const p = optionalPath(d, field);
    if (p) out[field] = p;
  }
  return out;
}

function optionalPath(d: Record<string, unknown>, key: string): JsonPath | undefined {
  const t = text(d, key, false);
  return t === undefined ? undefined : compilePath(t, key);
}

function text(
  d: Record<string, unknown>,
  key: string,
  required: boolean,
): string | undefined {
  const v = d[key];
  if (v === undefined || v === null) {
    if (required) throw new MappingError(`${key} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new MappingError(`${key} must be a string`);
  return v;
}

function oneOf<T extends string>(
  d: Record<string, unknown>,
  key: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const v = d[key] ?? fallback;
  if ((allowed as readonly unknown[]).includes(v)) return v as T;
  throw new MappingError(
    `${key} must be one of ${allowed.join(', ')}; got ${JSON.stringify(v)}`,
  );
}
