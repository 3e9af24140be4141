import { Quarantine } from '../reasons.js';
import { topicDevice, type Codec, type Decoded } from './codec.js';
import { describe, isObject, measurement, optionalString, parseJson } from './fields.js';

/**
 * The existing Heru firmware: `heru/sensors/{deviceId}`, QoS 0, every 30 s,
 * `{"device_id": "esp32_sensor_01","temperature": 23.45,"humidity": 45.60}`, no time.
 */
export const heruFirmware: Codec = {
  name: 'heru-firmware',
  topics: ['heru/sensors/+'],

  deviceIdOf(topic) {
    const parts = topic.split('/');
    return parts.length === 3 && parts[0] === 'heru' && parts[1] === 'sensors'
      ? parts[2]
      : undefined;
  },

  decode(payload, topicId): Decoded {
    const topicDeviceId = topicDevice(topicId);
    const body = parseJson(payload);
    if (!isObject(body)) {
      throw new Quarantine(
        'INVALID_PAYLOAD',
        'expected a JSON object with temperature and humidity',
      );
    }
    const named = optionalString(body, 'device_id', '');
    if (named !== undefined && named !== topicDeviceId) {
      throw new Quarantine(
        'DEVICE_TOPIC_MISMATCH',
        `payload device_id ${describe(named)} but topic device ${JSON.stringify(topicDeviceId)}`,
      );
    }
    const temperature = measurement(body, 'temperature', '');
    const humidity = measurement(body, 'humidity', '');
    if (temperature === undefined && humidity === undefined) {
      throw new Quarantine(
        'INVALID_PAYLOAD',
        'neither temperature nor humidity is present',
      );
    }
    return { deviceId: topicDeviceId, drafts: [{ temperature, humidity, unit: 'C' }] };
  },
};
