import { Quarantine } from '../reasons.js';
import {
  bareContext,
  topicDevice,
  type Codec,
  type DecodeContext,
  type Decoded,
} from './codec.js';
import { kindOfSensor } from './deviceSettings.js';
import { describe, plainNumber } from './fields.js';

/**
 * ESPHome's MQTT component, with a topic prefix of one level (the node's name by
 * default): the prefix is the device id.
 *
 * - `{prefix}/sensor/{name}/state`: one plain number per message (`4.62`, `nan` for a
 *   failed read), with no time: each is a reading of its own, sensor `{name}`, at
 *   the receive time. Whether it is a temperature or a humidity is decided by the
 *   name (see kindOfSensor) or by the device's settings; a temperature is in °C
 *   unless the device's unit says `F`. The Wi-Fi signal sensor updates the device's
 *   status; other sensors (uptime, the chip's own temperature) are kept as status,
 *   and so is a retained state the broker sends when ingest subscribes anew: its
 *   age is unknown.
 * - `{prefix}/status`: `online` (birth) or `offline` (last will): device status.
 */
export const esphome: Codec = {
  name: 'esphome',
  topics: ['+/sensor/+/state', '+/status'],

  deviceIdOf(topic) {
    const p = topic.split('/');
    if (p.length === 4 && p[1] === 'sensor' && p[3] === 'state') return p[0];
    if (p.length === 2 && p[1] === 'status') return p[0];
    return undefined;
  },

  decode(payload, topicId, context = bareContext()): Decoded {
    const deviceId = topicDevice(topicId);
    const p = context.topic.split('/');
    const text = payload.toString('utf8');
    if (p.length === 2) return status(text, deviceId);
    return sensorState(text, deviceId, p[2] ?? '', context);
  },
};

function status(text: string, deviceId: string): Decoded {
  const t = text.trim().toLowerCase();
  if (t === '') return { deviceId, drafts: [], status: {} };
  if (t === 'online') return { deviceId, drafts: [], status: { online: true } };
  if (t === 'offline') return { deviceId, drafts: [], status: { online: false } };
  throw new Quarantine(
    'INVALID_PAYLOAD',
    `a status message is online or offline, got ${describe(text)}`,
  );
}

function sensorState(
  text: string,
  deviceId: string,
  name: string,
  context: DecodeContext,
): Decoded {
  if (name.length > 64 || /[\p{Cc}\p{Cs}]/u.test(name)) {
    throw new Quarantine(
      'INVALID_PAYLOAD',
      `sensor names are at most 64 characters without control characters, got ${describe(name)}`,
    );
  }
  const settings = context.settingsOf(deviceId);
  const kind = kindOfSensor(name, settings);
  const value = plainNumber(text);
  // An empty payload clears a retained state; it says nothing of the sensor. A
  // retained state (ESPHome retains them) is the last value sent, at a time nobody
  // knows: at the receive time it would be a reading of now that was never taken.
  if (kind === 'ignore' || text.trim() === '' || context.retained)
    return { deviceId, drafts: [], status: {} };
  if (kind === 'rssi') {
    const ok = value !== undefined && value >= -150 && value <= 0;
    return { deviceId, drafts: [], status: ok ? { rssiDbm: Math.round(value) } : {} };
  }
  if (value === undefined) {
    throw new Quarantine(
      'INVALID_PAYLOAD',
      `sensor ${name} must send a plain number, got ${describe(text)}`,
    );
  }
  if (kind === 'humidity')
    return { deviceId, drafts: [{ sensor: name, humidity: value }] };
  return {
    deviceId,
    drafts: [{ sensor: name, temperature: value, unit: settings.unit ?? 'C' }],
  };
}
