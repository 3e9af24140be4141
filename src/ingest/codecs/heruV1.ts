import { Quarantine } from '../reasons.js';
import type { ReadingDraft } from '../reading.js';
import { topicDevice, type Codec, type Decoded } from './codec.js';
import {
  describe,
  deviceTime,
  isObject,
  measurement,
  optionalCounter,
  optionalNumber,
  optionalString,
  parseJson,
  type JsonObject,
} from './fields.js';

/** Most readings in one message (a device flushing its buffer after an outage). */
export const MAX_READINGS_PER_MESSAGE = 5000;

/**
 * This server's own format on `heru/v1/devices/{deviceId}/readings`: one reading or an
 * array of them. Every field but one measurement is optional:
 *
 *   { "device_id": "fridge-7", "boot": 12, "seq": 3345, "time": "2026-01-05T10:00:00Z",
 *     "temperature": 4.62, "unit": "C", "humidity": 51.2, "battery_pct": 87,
 *     "battery_v": 3.71, "rssi": -67, "sensor": "probe-1" }
 */
export const heruV1: Codec = {
  name: 'heru-v1',
  topics: ['heru/v1/devices/+/readings'],

  deviceIdOf(topic) {
    const p = topic.split('/');
    const ours = p.length === 5 && p[0] === 'heru' && p[1] === 'v1' && p[2] === 'devices';
    return ours && p[4] === 'readings' ? p[3] : undefined;
  },

  decode(payload, topicId): Decoded {
    const topicDeviceId = topicDevice(topicId);
    const body = parseJson(payload);
    const items = Array.isArray(body) ? body : [body];
    if (items.length === 0)
      throw new Quarantine('INVALID_PAYLOAD', 'the array holds no readings');
    if (items.length > MAX_READINGS_PER_MESSAGE) {
      throw new Quarantine(
        'INVALID_PAYLOAD',
        `${items.length} readings in one message; at most ${MAX_READINGS_PER_MESSAGE}`,
      );
    }
    const drafts = items.map((item, i) =>
      draftOf(item, Array.isArray(body) ? `[${i}].` : '', topicDeviceId),
    );
    return { deviceId: topicDeviceId, drafts };
  },
};

/**
 * One reading of this server's format; `at` names the element in details (`[3].`).
 * Throws a Quarantine naming the field when the element has the wrong shape.
 */
export function draftOf(item: unknown, at: string, topicDeviceId: string): ReadingDraft {
  if (!isObject(item))
    throw new Quarantine('INVALID_PAYLOAD', `${at || 'payload '}must be a JSON object`);
  const named = optionalString(item, 'device_id', at);
  if (named !== undefined && named !== topicDeviceId) {
    throw new Quarantine(
      'DEVICE_TOPIC_MISMATCH',
      `${at}device_id ${describe(named)} but topic device ${JSON.stringify(topicDeviceId)}`,
    );
  }
  const draft: ReadingDraft = {
    temperature: measurement(item, 'temperature', at),
    humidity: measurement(item, 'humidity', at),
    unit: unitOf(item, at),
  };
  if (draft.temperature === undefined && draft.humidity === undefined) {
    throw new Quarantine(
      'INVALID_PAYLOAD',
      `${at || 'payload '}has neither temperature nor humidity`,
    );
  }
  const optional: Partial<ReadingDraft> = {
    sensor: sensorOf(item, at),
    deviceTimeMs: deviceTime(item, 'time', at),
    boot: optionalCounter(item, 'boot', at),
    seq: optionalCounter(item, 'seq', at),
    batteryPct: optionalNumber(item, 'battery_pct', at),
    batteryV: optionalNumber(item, 'battery_v', at),
    rssi: optionalNumber(item, 'rssi', at),
  };
  for (const [k, v] of Object.entries(optional))
    if (v !== undefined) Object.assign(draft, { [k]: v });
  return draft;
}

/** "C" (the default) or "F", in either case, with or without a degree sign. */
function unitOf(item: JsonObject, at: string): 'C' | 'F' {
  const unit = optionalString(item, 'unit', at) ?? 'C';
  const bare = unit.trim().replace(/^°/, '').toUpperCase();
  if (bare === 'C' || bare === 'F') return bare;
  throw new Quarantine(
    'INVALID_PAYLOAD',
    `${at}unit must be "C" or "F", got ${describe(unit)}`,
  );
}

/** Longest probe name, in characters. */
const MAX_SENSOR_LENGTH = 64;

/**
 * A probe name: up to 64 characters, no control characters (PostgreSQL refuses NUL)
 * and no lone surrogates (they cannot be written as UTF-8).
 */
function sensorOf(item: JsonObject, at: string): string | undefined {
  const sensor = optionalString(item, 'sensor', at);
  if (sensor === undefined) return undefined;
  if (sensor.length <= MAX_SENSOR_LENGTH && !/[\p{Cc}\p{Cs}]/u.test(sensor))
    return sensor;
  throw new Quarantine(
    'INVALID_PAYLOAD',
    `${at}sensor must be at most ${MAX_SENSOR_LENGTH} characters without control characters, got ${describe(sensor)}`,
  );
}
