import { Quarantine } from '../reasons.js';
import type { ReadingDraft } from '../reading.js';
import {
  bareContext,
  topicDevice,
  type Codec,
  type DecodeContext,
  type Decoded,
} from './codec.js';
import { describe, isObject, measurement, parseJson, type JsonObject } from './fields.js';
import { parseIsoTimeIn } from './isoTime.js';
import { tasmotaLwt, tasmotaState } from './tasmotaStatus.js';
import { wallClockOf } from './timeZones.js';

/** Blocks with a `Temperature` that is not a probe's: the ESP32's own chip. */
const NOT_PROBES = new Set(['ESP32']);

/** DS18x20-family blocks, whose `Id` names the probe better than its position. */
const ONE_WIRE = /^(DS18[BS]20|DS1822|DS18x20|MAX31850)(?:-\d+)?$/;

/**
 * Tasmota, with its default full topic `%prefix%/%topic%/`: the device id is the
 * `%topic%` level.
 *
 * - `tele/{id}/SENSOR`: one reading per probe block, e.g.
 *   `{"Time":"2024-02-24T22:20:38","DS18B20":{"Id":"01144A0CB2AA","Temperature":22.6},"TempUnit":"C"}`.
 *   A block is any object with a `Temperature` or `Humidity` (`AM2301`, `SHT3X`,
 *   `BME280`, `DS18B20-2` …). `Time` is the device's local time: without an offset
 *   it is read in the device's time zone (its setting, UTC by default).
 * - `tele/{id}/LWT` (`Online` / `Offline`) and `tele/{id}/STATE` (Wi-Fi signal):
 *   device status, see tasmotaStatus.ts.
 *
 * A probe named in earlier messages and missing from this one gives a reading with
 * the flag `sensor_missing`: Tasmota leaves a failed probe out.
 */
export const tasmota: Codec = {
  name: 'tasmota',
  topics: ['tele/+/SENSOR', 'tele/+/LWT', 'tele/+/STATE'],

  deviceIdOf(topic) {
    const p = topic.split('/');
    const ours = p.length === 3 && p[0] === 'tele';
    return ours && (p[2] === 'SENSOR' || p[2] === 'LWT' || p[2] === 'STATE')
      ? p[1]
      : undefined;
  },

  decode(payload, topicId, context = bareContext()): Decoded {
    const deviceId = topicDevice(topicId);
    if (context.topic.endsWith('/LWT')) return tasmotaLwt(payload, deviceId);
    if (context.topic.endsWith('/STATE')) return tasmotaState(payload, deviceId);
    const body = parseJson(payload);
    if (!isObject(body))
      throw new Quarantine('INVALID_PAYLOAD', 'expected a JSON object of sensor blocks');
    return sensorReadings(body, deviceId, context);
  },
};

function sensorReadings(
  body: JsonObject,
  deviceId: string,
  context: DecodeContext,
): Decoded {
  const unit = tempUnit(body);
  const deviceTimeMs = timeOf(body, context.settingsOf(deviceId).timeZone);
  const drafts: ReadingDraft[] = [];
  for (const [key, block] of Object.entries(body)) {
    if (!isObject(block) || NOT_PROBES.has(key)) continue;
    if (!('Temperature' in block) && !('Humidity' in block)) continue;
    const draft: ReadingDraft = {
      sensor: probeName(key, block),
      model: key.split('-')[0]!,
      temperature: measurement(block, 'Temperature', `${key}.`),
      humidity: measurement(block, 'Humidity', `${key}.`),
      unit,
    };
    if (deviceTimeMs !== undefined) draft.deviceTimeMs = deviceTimeMs;
    drafts.push(draft);
  }
  const present = new Set(drafts.map((d) => d.sensor));
  for (const sensor of context.knownSensors(deviceId)) {
    if (sensor === '' || present.has(sensor)) continue;
    const missing: ReadingDraft = { sensor, fault: 'sensor_missing' };
    if (deviceTimeMs !== undefined) missing.deviceTimeMs = deviceTimeMs;
    drafts.push(missing);
  }
  // A device never seen with a probe (a smart plug's energy telemetry) says nothing
  // of temperatures: kept as its status, not as a failed reading.
  if (drafts.length === 0) return { deviceId, drafts, status: {} };
  return { deviceId, drafts };
}

/**
 * The probe's name within the device: a DS18B20's ROM id when it has one (Tasmota
 * numbers its probes `DS18B20-1`, `-2` … in the order found at boot, so a probe that
 * fails shifts the numbers of the others), else the block's name.
 */
function probeName(key: string, block: JsonObject): string {
  const id = block.Id;
  const family = ONE_WIRE.exec(key)?.[1];
  if (family !== undefined && typeof id === 'string' && /^[0-9A-Fa-f]{1,16}$/.test(id))
    return `${family}-${id.toUpperCase()}`;
  if (key.length <= 64 && !/[\p{Cc}\p{Cs}]/u.test(key)) return key;
  throw new Quarantine(
    'INVALID_PAYLOAD',
    `sensor block names are at most 64 characters without control characters, got ${describe(key)}`,
  );
}

function tempUnit(body: JsonObject): 'C' | 'F' {
  const unit = body.TempUnit ?? 'C';
  if (unit === 'C' || unit === 'F') return unit;
  throw new Quarantine(
    'INVALID_PAYLOAD',
    `TempUnit must be "C" or "F", got ${describe(unit)}`,
  );
}

/** `Time` in the device's zone unless it carries an offset (`SetOption52 1`). */
function timeOf(body: JsonObject, zone: string | undefined): number | undefined {
  const time = body.Time;
  if (time === undefined || time === null) return undefined;
  const ms =
    typeof time === 'string' ? parseIsoTimeIn(time, wallClockOf(zone)) : undefined;
  if (ms === undefined) {
    throw new Quarantine(
      'INVALID_PAYLOAD',
      `Time must be an ISO 8601 date-time, got ${describe(time)}`,
    );
  }
  return ms;
}
