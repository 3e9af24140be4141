import type { ReadingDraft } from '../reading.js';

/** What a codec took from one message: the device it names and its readings. */
export interface Decoded {
  deviceId: string;
  drafts: ReadingDraft[];
}

/**
 * One firmware's message format. A codec owns its topics; `decode` throws a
 * Quarantine when the payload cannot become readings.
 */
export interface Codec {
  readonly name: string;
  /** Topic filters to subscribe to. */
  readonly topics: readonly string[];
  /** The device id carried by `topic`, or undefined when the topic is not this codec's. */
  deviceIdOf(topic: string): string | undefined;
  decode(payload: Buffer, topicDeviceId: string): Decoded;
}
