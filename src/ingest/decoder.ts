import type { IngestConfig } from '../config/config.js';
import type { Codec } from './codecs/index.js';
import { chooseTime } from './deviceClock.js';
import { isValidDeviceId } from './deviceId.js';
import { naturalKey, payloadHash } from './naturalKey.js';
import { checkHumidity, checkTemperature, type PreviousReading } from './quality.js';
import { Quarantine } from './reasons.js';
import type { Reading, ReadingDraft } from './reading.js';

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

  decode(message: IncomingMessage): DecodedMessage {
    const found = this.codecFor(message.topic);
    const deviceId = found?.deviceId ?? null;
    try {
      if (!found)
        throw new Quarantine('UNKNOWN_TOPIC', `no codec handles topic ${message.topic}`);
      if (!isValidDeviceId(found.deviceId)) {
        throw new Quarantine(
          'INVALID_DEVICE_ID',
          `device id ${JSON.stringify(found.deviceId)} in the topic`,
        );
      }
      if (message.payload.length > this.config.maxPayloadBytes) {
        throw new Quarantine(
          'PAYLOAD_TOO_LARGE',
          `${message.payload.length} bytes; the limit is ${this.config.maxPayloadBytes} (MAX_PAYLOAD_BYTES)`,
        );
      }
      const decoded = found.codec.decode(message.payload, found.deviceId);
      const hash = payloadHash(message.payload);
      const readings = decoded.drafts.map((d, i) =>
        this.check(decoded.deviceId, d, i, hash, message),
      );
      return { message, deviceId, readings, quarantine: null };
    } catch (err) {
      if (!(err instanceof Quarantine)) throw err;
      return { message, deviceId, readings: [], quarantine: err };
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
    const memoryKey = sensor === '' ? deviceId : `${deviceId}\u0000${sensor}`;
    const previous = this.memory.get(memoryKey);
    const boot = d.boot ?? null;
    const firstOfBoot =
      d.seq === 0 || (boot !== null && previous !== undefined && previous.boot !== boot);
    const t = checkTemperature(d.temperature, d.unit ?? 'C', firstOfBoot, previous);
    const h = checkHumidity(d.humidity);
    const clock = chooseTime(
      d.deviceTimeMs,
      message.receivedAt,
      this.config.maxClockAheadSeconds * 1000,
    );
    const flags = [t.flag, h.flag, clock.flag].filter(
      (f): f is string => f !== undefined,
    );
    this.remember(memoryKey, { boot, temperatureC: t.temperatureC });

    return {
      deviceId,
      sensor,
      time: clock.time,
      timeSource: clock.timeSource,
      deviceTime: clock.deviceTime,
      receivedAt: message.receivedAt,
      boot,
      seq: d.seq ?? null,
      temperatureC: t.temperatureC,
      humidityPct: h.humidityPct,
      batteryPct: d.batteryPct ?? null,
      batteryV: d.batteryV ?? null,
      rssiDbm: d.rssi === undefined ? null : Math.round(d.rssi),
      quality: t.flag === undefined ? 'good' : 'invalid',
      flags,
      naturalKey: naturalKey({
        boot,
        seq: d.seq ?? null,
        trustedTimeMs: clock.timeSource === 'device' ? clock.time.getTime() : null,
        payloadHash: hash,
        index,
        receivedAtMs: message.receivedAt.getTime(),
        windowMs: this.config.timelessDedupSeconds * 1000,
        sensor,
      }),
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
