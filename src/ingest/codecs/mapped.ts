import { valueAt, type JsonPath } from '../../mappings/jsonPath.js';
import type { Mapping } from '../../mappings/mapping.js';
import type { TopicCaptures } from '../../mappings/topicPattern.js';
import { Quarantine } from '../reasons.js';
import type { ReadingDraft } from '../reading.js';
import { bareContext, type Codec, type DecodeContext, type Decoded } from './codec.js';
import { describe, parseJson, plainNumber } from './fields.js';
import { MAX_READINGS_PER_MESSAGE } from './heruV1.js';
import type { WallClock } from './isoTime.js';
import { wallClockOf } from './timeZones.js';

/** Where the mapped codec finds the current mappings (a cache refreshed elsewhere). */
export interface MappingSource {
  mappings(): readonly Mapping[];
}

/**
 * The codec of operator-defined devices: each stored mapping (src/mappings/) names
 * its topics and where the values sit in the payload. A payload that does not fit
 * its mapping is quarantined as MAPPING_MISMATCH, the detail naming the field.
 */
export function mappedCodec(source: MappingSource): Codec {
  const find = (topic: string) => {
    for (const mapping of source.mappings()) {
      const captures = mapping.topic.match(topic);
      if (captures) return { mapping, captures };
    }
    return undefined;
  };
  return {
    name: 'mapped',
    get topics() {
      return source.mappings().map((m) => m.topic.filter);
    },
    deviceIdOf(topic) {
      const hit = find(topic);
      return hit === undefined ? undefined : (hit.captures.device ?? null);
    },
    decode(payload, _topicId, context = bareContext()): Decoded {
      const hit = find(context.topic);
      if (!hit)
        throw new Quarantine(
          'UNKNOWN_TOPIC',
          `no mapping handles topic ${context.topic}`,
        );
      return applyMapping(hit.mapping, payload, hit.captures, context);
    },
  };
}

/** Reads one payload as `mapping` says; throws a Quarantine when it does not fit. */
export function applyMapping(
  mapping: Mapping,
  payload: Buffer,
  captures: TopicCaptures,
  context: DecodeContext,
): Decoded {
  if (mapping.format === 'plain') return plainValue(mapping, payload, captures, context);
  const body = parseJson(payload);
  const deviceId = deviceOf(mapping, body, captures);
  const settings = context.settingsOf(deviceId);
  const clock = wallClockOf(settings.timeZone ?? mapping.timeZone);
  const items = mapping.readings ? arrayAt(mapping.readings, body) : [body];
  const drafts = items.map((item, i) =>
    draftOf(mapping, {
      body,
      item,
      at: mapping.readings ? `[${i}].` : '',
      captures,
      clock,
    }),
  );
  return { deviceId, drafts };
}

function mismatch(detail: string): Quarantine {
  return new Quarantine('MAPPING_MISMATCH', detail);
}

function plainValue(
  mapping: Mapping,
  payload: Buffer,
  captures: TopicCaptures,
  context: DecodeContext,
): Decoded {
  const deviceId = captures.device!;
  const text = payload.toString('utf8');
  const value = plainNumber(text);
  if (value === undefined)
    throw mismatch(
      `mapping ${mapping.name} expects a plain number, got ${describe(text)}`,
    );
  const draft: ReadingDraft =
    mapping.value === 'humidity'
      ? { humidity: value }
      : { temperature: value, unit: context.settingsOf(deviceId).unit ?? mapping.unit };
  if (captures.sensor !== undefined) draft.sensor = sensorName(captures.sensor, 'topic');
  return { deviceId, drafts: [draft] };
}

function deviceOf(mapping: Mapping, body: unknown, captures: TopicCaptures): string {
  if (!mapping.deviceId) return captures.device!;
  const v = valueAt(mapping.deviceId, body, body);
  const id = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
  if (typeof id !== 'string')
    throw mismatch(
      `device_id at ${mapping.deviceId.text} must be a string, got ${shown(v)}`,
    );
  if (captures.device !== undefined && captures.device !== id) {
    throw new Quarantine(
      'DEVICE_TOPIC_MISMATCH',
      `payload device id ${describe(id)} but topic device ${JSON.stringify(captures.device)}`,
    );
  }
  return id;
}

function arrayAt(path: JsonPath, body: unknown): unknown[] {
  const v = valueAt(path, body, body);
  if (!Array.isArray(v))
    throw mismatch(`readings at ${path.text} must be an array, got ${shown(v)}`);
  if (v.length === 0) throw mismatch(`readings at ${path.text} is empty`);
  if (v.length > MAX_READINGS_PER_MESSAGE)
    throw mismatch(
      `${v.length} readings in one message; at most ${MAX_READINGS_PER_MESSAGE}`,
    );
  return v;
}

interface Item {
  body: unknown;
  item: unknown;
  /** `[3].` for the fourth element of a readings array, '' otherwise. */
  at: string;
  captures: TopicCaptures;
  clock: WallClock;
}

function draftOf(mapping: Mapping, it: Item): ReadingDraft {
  const p = mapping.paths;
  const draft: ReadingDraft = {
    temperature: measured(p.temperature, 'temperature', it),
    humidity: measured(p.humidity, 'humidity', it),
    unit: mapping.unit,
  };
  if (draft.temperature === undefined && draft.humidity === undefined) {
    const where = [p.temperature, p.humidity].filter((x) => x).map((x) => x!.text);
    throw mismatch(`${it.at}no value at ${where.join(' nor at ')}`);
  }
  const optional: Partial<ReadingDraft> = {
    batteryPct: number(p.battery_pct, 'battery_pct', it),
    batteryV: number(p.battery_v, 'battery_v', it),
    rssi: number(p.rssi, 'rssi', it),
    boot: counter(p.boot, 'boot', it),
    seq: counter(p.seq, 'seq', it),
    deviceTimeMs: timeOf(mapping, it),
    sensor: sensorOf(p.sensor, it),
  };
  for (const [k, v] of Object.entries(optional))
    if (v !== undefined) Object.assign(draft, { [k]: v });
  return draft;
}

function at(path: JsonPath, it: Item): unknown {
  return valueAt(path, it.body, it.item);
}

function shown(v: unknown): string {
  return v === undefined ? 'nothing' : describe(v);
}

/** A measurement: a number, null (a failed read), or a number or `nan` in a string. */
function measured(
  path: JsonPath | undefined,
  field: string,
  it: Item,
): number | null | undefined {
  if (!path) return undefined;
  const v = at(path, it);
  if (v === undefined || v === null || typeof v === 'number') return v;
  const n = typeof v === 'string' ? plainNumber(v) : undefined;
  if (n !== undefined) return n;
  throw mismatch(`${it.at}${field} at ${path.text} must be a number, got ${describe(v)}`);
}

function number(path: JsonPath | undefined, field: string, it: Item): number | undefined {
  const v = measured(path, field, it);
  return v === null ? undefined : v;
}

function counter(
  path: JsonPath | undefined,
  field: string,
  it: Item,
): number | undefined {
  const v = number(path, field, it);
  if (v === undefined || (Number.isSafeInteger(v) && v >= 0)) return v;
  throw mismatch(
    `${it.at}${field} at ${path!.text} must be a whole number ≥ 0, got ${v}`,
  );
}

function timeOf(mapping: Mapping, it: Item): number | undefined {
  const path = mapping.paths.time;
  if (!path) return undefined;
  const v = at(path, it);
  if (v === undefined || v === null) return undefined;
  const ms = mapping.readTime(v, it.clock);
  if (ms !== undefined && Number.isFinite(ms)) return ms;
  const format = String(mapping.definition.time_format);
  throw mismatch(
    `${it.at}time at ${path.text} is not in the format ${format}: ${describe(v)}`,
  );
}

function sensorOf(path: JsonPath | undefined, it: Item): string | undefined {
  if (!path)
    return it.captures.sensor === undefined
      ? undefined
      : sensorName(it.captures.sensor, 'topic');
  const v = at(path, it);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || typeof v === 'number')
    return sensorName(String(v), path.text);
  throw mismatch(`${it.at}sensor at ${path.text} must be a string, got ${describe(v)}`);
}

function sensorName(name: string, where: string): string {
  if (name.length <= 64 && !/[\p{Cc}\p{Cs}]/u.test(name)) return name;
  throw mismatch(
    `sensor from ${where} must be at most 64 characters without control characters`,
  );
}
