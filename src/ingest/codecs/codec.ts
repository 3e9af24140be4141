import type { ReadingDraft } from '../reading.js';
import { DEFAULT_DEVICE_SETTINGS, type DeviceSettings } from './deviceSettings.js';

/**
 * A device's own state, sent beside its readings (Tasmota's LWT and STATE, ESPHome's
 * status topic): stored in `device_status`, never a reading and never quarantined.
 */
export interface DeviceReport {
  /** Online (birth message) or offline (last will); absent when the message does not say. */
  online?: boolean;
  /** Wi-Fi signal, dBm. */
  rssiDbm?: number;
}

/** What a codec took from one message: the device it names and its readings. */
export interface Decoded {
  deviceId: string;
  drafts: ReadingDraft[];
  /** Set when the message is a status message; its `drafts` are then empty. */
  status?: DeviceReport;
}

/** What a codec may know beyond the payload. */
export interface DecodeContext {
  /** The topic the message came on. */
  topic: string;
  /**
   * True for a retained message the broker sent because the subscription is new: the
   * device's last message, of unknown age.
   */
  retained: boolean;
  /** The stored settings of a device (time zone, unit, sensor kinds); defaults when none. */
  settingsOf(deviceId: string): DeviceSettings;
  /** Probe names this process has seen from the device, in the order first seen. */
  knownSensors(deviceId: string): readonly string[];
}

/** A context with default settings and no memory, for a codec used on its own. */
export function bareContext(topic = ''): DecodeContext {
  return {
    topic,
    retained: false,
    settingsOf: () => DEFAULT_DEVICE_SETTINGS,
    knownSensors: () => [],
  };
}

/**
 * One firmware's message format. A codec owns its topics; `decode` throws a
 * Quarantine when the payload cannot become readings.
 */
export interface Codec {
  readonly name: string;
  /** Topic filters to subscribe to. */
  readonly topics: readonly string[];
  /**
   * The device id carried by `topic`; null when the topic is this codec's but the
   * payload names the device; undefined when the topic is not this codec's.
   */
  deviceIdOf(topic: string): string | null | undefined;
  /** `topicDeviceId` is what `deviceIdOf` answered, already checked when not null. */
  decode(payload: Buffer, topicDeviceId: string | null, context?: DecodeContext): Decoded;
}

/** The topic's device id of a codec whose topics always name one. */
export function topicDevice(id: string | null): string {
  if (id === null) throw new Error('this codec takes its device id from the topic');
  return id;
}
