import { Quarantine } from '../reasons.js';
import type { ReadingDraft } from '../reading.js';
import { topicDevice, type Codec, type Decoded } from './codec.js';
import { describe, deviceTime, isObject, optionalString, parseJson } from './fields.js';
import { draftOf, MAX_READINGS_PER_MESSAGE } from './heruV1.js';

/** Other names firmwares give the time of a buffered reading. */
const TIME_ALIASES = ['ts', 'timestamp'] as const;

/**
 * A backlog: the readings a device buffered while it could not publish, sent as one
 * JSON array on `heru/sensors/{deviceId}/backlog` once it is back, each with its own
 * time. Either a bare array or an object holding it:
 *
 *   [{"time": 1767607200, "temperature": 4.6, "humidity": 51.2}, …]
 *   {"device_id": "esp32_sensor_01", "readings": [{"ts": "2026-01-05T10:00:00Z", …}]}
 *
 * Each element is read as in this server's own format (heruV1.ts); its time may also
 * be called `ts` or `timestamp`. An element without a time (and without `boot` and
 * `seq`) refuses the whole message: its readings would all take the receive time
 * and stand, wrongly, at the end of the outage.
 */
export const backlog: Codec = {
  name: 'heru-backlog',
  topics: ['heru/sensors/+/backlog'],

  deviceIdOf(topic) {
    const p = topic.split('/');
    return p.length === 4 && p[0] === 'heru' && p[1] === 'sensors' && p[3] === 'backlog'
      ? p[2]
      : undefined;
  },

  decode(payload, topicId): Decoded {
    const deviceId = topicDevice(topicId);
    const items = itemsOf(parseJson(payload), deviceId);
    if (items.length === 0)
      throw new Quarantine('INVALID_PAYLOAD', 'the backlog holds no readings');
    if (items.length > MAX_READINGS_PER_MESSAGE) {
      throw new Quarantine(
        'INVALID_PAYLOAD',
        `${items.length} readings in one message; at most ${MAX_READINGS_PER_MESSAGE}`,
      );
    }
    return { deviceId, drafts: items.map((item, i) => timedDraft(item, i, deviceId)) };
  },
};

/** The array itself, or the `readings` array of an object naming its device. */
function itemsOf(body: unknown, deviceId: string): unknown[] {
  if (Array.isArray(body)) return body;
  if (isObject(body) && Array.isArray(body.readings)) {
    const named = optionalString(body, 'device_id', '');
    if (named !== undefined && named !== deviceId) {
      throw new Quarantine(
        'DEVICE_TOPIC_MISMATCH',
        `device_id ${describe(named)} but topic device ${JSON.stringify(deviceId)}`,
      );
    }
    return body.readings;
  }
  throw new Quarantine(
    'INVALID_PAYLOAD',
    'a backlog is a JSON array of readings, or an object with a "readings" array',
  );
}

function timedDraft(item: unknown, i: number, deviceId: string): ReadingDraft {
  const at = `[${i}].`;
  const draft = draftOf(item, at, deviceId);
  if (draft.deviceTimeMs === undefined && isObject(item)) {
    for (const alias of TIME_ALIASES) {
      const ms = deviceTime(item, alias, at);
      if (ms !== undefined) {
        draft.deviceTimeMs = ms;
        break;
      }
    }
  }
  if (
    draft.deviceTimeMs === undefined &&
    (draft.boot === undefined || draft.seq === undefined)
  ) {
    throw new Quarantine(
      'INVALID_PAYLOAD',
      `[${i}] has no time: each reading of a backlog needs its own time (time, ts or timestamp)`,
    );
  }
  return draft;
}
