import type { IngestConfig } from '../config/config.js';
import type { Codec } from './codecs/index.js';
import type { DecodeContext, DeviceReport } from './codecs/codec.js';
import { DEFAULT_DEVICE_SETTINGS, type DeviceSettings } from './codecs/deviceSettings.js';
import { chooseTime } from './deviceClock.js';
import { isValidDeviceId } from './deviceId.js';
import { naturalKey, payloadHash } from './naturalKey.js';
import { describe } from './codecs/fields.js';
import {
  checkDeviceValue,
  checkHumidity,
  checkTemperature,
  isReadError,
  type HumidityCheck,
  type PreviousReading,
  type TemperatureCheck,
} from './quality.js';
import { Quarantine } from './reasons.js';
import type { DeviceGate } from '../devices/deviceGate.js';
import type { Quality, Reading, ReadingDraft } from './reading.js';

/** One MQTT message as it came off the wire. */
export interface IncomingMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  receivedAt: Date;
}

/** A message after decoding: its readings, or why it is quarantined. */
export interface DecodedMessage {
  message: IncomingMessage;
  deviceId: string | null;
  readings: Reading[];
  quarantine: Quarantine | null;
  /** A status message's news of its device (online, signal); it has no readings. */
  status?: DeviceReport;
}

interface CheckedValues {
  values: Pick<
    Reading,
    'temperatureC' | 'humidityPct' | 'batteryPct' | 'batteryV' | 'rssiDbm'
  >;
  quality: Quality;
  flags: string[];
}

/** Devices whose last reading is remembered for the power-on check. */
const MEMORY_LIMIT = 100_000;
/** Most probe names remembered per device (for a probe missing from a message). */
const SENSORS_PER_DEVICE = 64;

/** Where the decoder finds what an operator set for a device. */
export interface DeviceDirectory {
  settingsOf(deviceId: string): DeviceSettings;
}

const NO_SETTINGS: DeviceDirectory = { settingsOf: () => DEFAULT_DEVICE_SETTINGS };

/**
 * Turns raw messages into checked readings or quarantine verdicts. Holds, per device,
 * the last reading seen, so that a DS18B20's 85 °C power-on value can be told apart,
 * and the probe names seen, so that a codec can tell a probe missing from a message.
 */
export class Decoder {
  private readonly memory = new Map<string, PreviousReading>();
  private readonly sensors = new Map<string, string[]>();

  constructor(
    private readonly codecs: readonly Codec[],
    private readonly config: IngestConfig,
    private readonly devices: DeviceDirectory = NO_SETTINGS,
    /** The device registry's check (disabled, unknown); none admits every device. */
    private readonly gate?: DeviceGate,
  ) {}

  /** Never throws: whatever goes wrong becomes a quarantine verdict. */
  decode(message: IncomingMessage): DecodedMessage {
    const found = this.codecFor(message.topic);
    let deviceId =
      typeof found?.deviceId === 'string' && isValidDeviceId(found.deviceId)
        ? found.deviceId
        : null;
    try {
      if (!found)
        throw new Quarantine('UNKNOWN_TOPIC', `no codec handles topic ${message.topic}`);
      if (found.deviceId !== null && deviceId === null) {
        throw new Quarantine(
          'INVALID_DEVICE_ID',
          `device id ${describe(found.deviceId)} in the topic`,
        );
      }
      if (deviceId !== null) this.gate?.admit(deviceId);
      if (message.payload.length > this.config.maxPayloadBytes) {
        throw new Quarantine(
          'PAYLOAD_TOO_LARGE',
          `${message.payload.length} bytes; the limit is ${this.config.maxPayloadBytes} (MAX_PAYLOAD_BYTES)`,
        );
      }
      const decoded = found.codec.decode(
        message.payload,
        found.deviceId,
        this.context(message),
      );
      if (!isValidDeviceId(decoded.deviceId)) {
        throw new Quarantine(
          'INVALID_DEVICE_ID',
          `device id ${describe(decoded.deviceId)} in the payload`,
        );
      }
      if (found.deviceId === null) this.gate?.admit(decoded.deviceId);
      deviceId = decoded.deviceId;
      if (decoded.status?.online === true) this.forgetReadings(deviceId);
      const hash = payloadHash(message.payload);
      const checked = decoded.drafts.map((d, i) =>
        this.check(deviceId!, d, i, hash, message),
      );
      const readings = ofKnownTime(checked, message);
      const out: DecodedMessage = { message, deviceId, readings, quarantine: null };
      if (decoded.status) out.status = decoded.status;
      // Nothing left of a retained copy: kept as status, like ESPHome's retained states.
      else if (checked.length > 0 && readings.length === 0) out.status = {};
      return out;
    } catch (err) {
      return { message, deviceId, readings: [], quarantine: asQuarantine(err) };
    }
  }

  private codecFor(topic: string): { codec: Codec; deviceId: string | null } | undefined {
    for (const codec of this.codecs) {
      const deviceId = codec.deviceIdOf(topic);
      if (deviceId !== undefined) return { codec, deviceId };
    }
    return undefined;
  }

  private context(message: IncomingMessage): DecodeContext {
    return {
      topic: message.topic,
      retained: message.retain,
      settingsOf: (id) => this.devices.settingsOf(id),
      knownSensors: (id) => this.sensors.get(id) ?? [],
    };
  }

  private check(
    deviceId: string,
    d: ReadingDraft,
    index: number,
    hash: string,
    message: IncomingMessage,
  ): Reading {
    const sensor = d.sensor ?? '';
    const boot = d.boot ?? null;
    const seq = d.seq ?? null;
    this.rememberSensor(deviceId, sensor);
    const v = this.values(deviceId, sensor, d);
    const clock = chooseTime(
      d.deviceTimeMs,
      message.receivedAt,
      this.config.maxClockAheadSeconds * 1000,
    );
    const trustedTimeMs = clock.timeSource === 'device' ? clock.time.getTime() : null;
    return {
      deviceId,
      sensor,
      time: clock.time,
      timeSource: clock.timeSource,
      deviceTime: clock.deviceTime,
      receivedAt: message.receivedAt,
      boot,
      seq,
      ...v.values,
      quality: v.quality,
      flags: clock.flag === undefined ? v.flags : [...v.flags, clock.flag],
      naturalKey: naturalKey({
        boot,
        seq,
        trustedTimeMs,
        payloadHash: hash,
        index,
        receivedAtMs: message.receivedAt.getTime(),
        windowMs: this.config.timelessDedupSeconds * 1000,
        sensor,
      }),
    };
  }

  /**
   * Checks the measured and device values of one draft. The reading is `invalid` when
   * its temperature was rejected, when the codec saw the probe fail, or when it
   * carried no usable measurement at all; a bad humidity beside a good temperature
   * only adds a flag.
   */
  private values(deviceId: string, sensor: string, d: ReadingDraft): CheckedValues {
    const memoryKey = sensor === '' ? deviceId : `${deviceId}\u0000${sensor}`;
    const previous = this.memory.get(memoryKey);
    const boot = d.boot ?? null;
    const firstOfBoot =
      d.seq === 0 || (boot !== null && previous !== undefined && previous.boot !== boot);
    const unit = d.unit ?? 'C';
    const readError = isReadError(d.temperature, unit, d.humidity);
    const t: TemperatureCheck = readError
      ? { temperatureC: null, flag: 'sensor_read_error' }
      : checkTemperature(d.temperature, unit, firstOfBoot, previous, d.model);
    const h: HumidityCheck = readError
      ? { humidityPct: null }
      : checkHumidity(d.humidity);
    this.remember(memoryKey, { boot, temperatureC: t.temperatureC });

    const pct = checkDeviceValue('battery_pct', d.batteryPct);
    const volts = checkDeviceValue('battery_v', d.batteryV);
    const rssi = checkDeviceValue('rssi', d.rssi);
    const flags = [d.fault, t.flag, h.flag, pct.flag, volts.flag, rssi.flag].filter(
      (f): f is string => f !== undefined,
    );
    const unusable =
      d.fault !== undefined ||
      t.flag !== undefined ||
      (t.temperatureC === null && h.humidityPct === null);
    return {
      values: {
        temperatureC: t.temperatureC,
        humidityPct: h.humidityPct,
        batteryPct: pct.value,
        batteryV: volts.value,
        rssiDbm: rssi.value === null ? null : Math.round(rssi.value),
      },
      quality: unusable ? 'invalid' : 'good',
      flags,
    };
  }

  private remember(key: string, value: PreviousReading): void {
    this.memory.delete(key);
    if (this.memory.size >= MEMORY_LIMIT) {
      const oldest = this.memory.keys().next().value;
      if (oldest !== undefined) this.memory.delete(oldest);
    }
    this.memory.set(key, value);
  }

  private rememberSensor(deviceId: string, sensor: string): void {
    const known = this.sensors.get(deviceId);
    if (known?.includes(sensor)) return;
    if (known === undefined) {
      if (this.sensors.size >= MEMORY_LIMIT) {
        const oldest = this.sensors.keys().next().value;
        if (oldest !== undefined) this.sensors.delete(oldest);
      }
      this.sensors.set(deviceId, [sensor]);
    } else if (known.length < SENSORS_PER_DEVICE) {
      known.push(sensor);
    }
  }

  /**
   * A device that comes online has restarted or reconnected: what it reads first may
   * be a probe's power-on value, as for the first reading ever seen of it.
   */
  private forgetReadings(deviceId: string): void {
    this.memory.delete(deviceId);
    for (const sensor of this.sensors.get(deviceId) ?? [])
      this.memory.delete(`${deviceId}\u0000${sensor}`);
  }
}

/**
 * The readings of a message, less those a retained copy holds without a time of its
 * own. A retained copy, sent because the subscription is new, is the device's last
 * message, of unknown age: a reading in it that would take the receive time was not
 * taken now, and no natural key tells it from a new one (a copy of a timeless payload
 * is one reading only within TIMELESS_DEDUP_WINDOW).
 */
function ofKnownTime(readings: Reading[], message: IncomingMessage): Reading[] {
  return message.retain ? readings.filter((r) => r.timeSource === 'device') : readings;
}

/**
 * A codec's verdict as it is; any other error is a fault of ours on this payload. It
 * is quarantined too (the raw bytes kept for a fix and a replay), so that one
 * message cannot stop the stream.
 */
function asQuarantine(err: unknown): Quarantine {
  if (err instanceof Quarantine) return err;
  const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new Quarantine('DECODE_FAILED', `the decoder failed on this payload (${why})`);
}
