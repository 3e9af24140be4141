import type { IngestConfig } from '../config/config.js';
import type { Codec } from './codecs/index.js';
import { chooseTime } from './deviceClock.js';
import { isValidDeviceId } from './deviceId.js';
import { naturalKey, payloadHash } from './naturalKey.js';
import { describe } from './codecs/fields.js';
import {
  checkDeviceValue,
  checkHumidity,
  checkTemperature,
  type PreviousReading,
} from './quality.js';
import { Quarantine } from './reasons.js';
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

/**
 * Turns raw messages into checked readings or quarantine verdicts. Holds, per device,
 * the last reading seen, so that a DS18B20's 85 °C power-on value can be told apart.
 */
export class Decoder {
  private readonly memory = new Map<string, PreviousReading>();

  constructor(
    private readonly codecs: readonly Codec[],
    private readonly config: IngestConfig,
  ) {}

  /** Never throws: whatever goes wrong becomes a quarantine verdict. */
  decode(message: IncomingMessage): DecodedMessage {
    const found = this.codecFor(message.topic);
    const deviceId =
      found !== undefined && isValidDeviceId(found.deviceId) ? found.deviceId : null;
    try {
      if (!found)
        throw new Quarantine('UNKNOWN_TOPIC', `no codec handles topic ${message.topic}`);
      if (deviceId === null) {
        throw new Quarantine(
          'INVALID_DEVICE_ID',
          `device id ${describe(found.deviceId)} in the topic`,
        );
      }
      if (message.payload.length > this.config.maxPayloadBytes) {
        throw new Quarantine(
          'PAYLOAD_TOO_LARGE',
          `${message.payload.length} bytes; the limit is ${this.config.maxPayloadBytes} (MAX_PAYLOAD_BYTES)`,
        );
      }
      const decoded = found.codec.decode(message.payload, deviceId);
      const hash = payloadHash(message.payload);
      const readings = decoded.drafts.map((d, i) =>
        this.check(decoded.deviceId, d, i, hash, message),
      );
      return { message, deviceId, readings, quarantine: null };
    } catch (err) {
      return { message, deviceId, readings: [], quarantine: asQuarantine(err) };
    }
  }

  private codecFor(topic: string): { codec: Codec; deviceId: string } | undefined {
    for (const codec of this.codecs) {
      const deviceId = codec.deviceIdOf(topic);
      if (deviceId !== undefined) return { codec, deviceId };
    }
    return undefined;
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
   * its temperature was rejected, or when it carried no usable measurement at all;
   * a bad humidity beside a good temperature only adds a flag.
   */
  private values(deviceId: string, sensor: string, d: ReadingDraft): CheckedValues {
    const memoryKey = sensor === '' ? deviceId : `${deviceId}\u0000${sensor}`;
    const previous = this.memory.get(memoryKey);
    const boot = d.boot ?? null;
    const firstOfBoot =
      d.seq === 0 || (boot !== null && previous !== undefined && previous.boot !== boot);
    const t = checkTemperature(d.temperature, d.unit ?? 'C', firstOfBoot, previous);
    const h = checkHumidity(d.humidity);
    this.remember(memoryKey, { boot, temperatureC: t.temperatureC });

    const pct = checkDeviceValue('battery_pct', d.batteryPct);
    const volts = checkDeviceValue('battery_v', d.batteryV);
    const rssi = checkDeviceValue('rssi', d.rssi);
    const flags = [t.flag, h.flag, pct.flag, volts.flag, rssi.flag].filter(
      (f): f is string => f !== undefined,
    );
    const unusable =
      t.flag !== undefined || (t.temperatureC === null && h.humidityPct === null);
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
