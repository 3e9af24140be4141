/**
 * Replays a logger's readings as one device: arrays of `batchSize` readings on
 * `heru/v1/devices/{id}/readings` at QoS 1, each acknowledged by the broker before the
 * replay counts it, as fast as the broker takes them or at `rate` readings a second.
 * The readings keep the logger's times, so the server sees the history as it was.
 */
import type { Logger } from '../log.js';
import { heruV1Messages, type HeruV1Reading } from './payload.js';
import type { Publisher } from './publisher.js';
import { sleep } from './sleep.js';

export interface ReplayOptions {
  deviceId: string;
  /** Readings per message, default 500. */
  batchSize?: number;
  /** Readings per second; undefined sends as fast as the broker acknowledges. */
  rate?: number;
  /** Stops the replay after the messages already sent are acknowledged. */
  signal?: AbortSignal;
}

export interface ReplaySummary {
  deviceId: string;
  /** Readings in the file. */
  readings: number;
  /** Readings the broker acknowledged. */
  acknowledged: number;
  messages: number;
  elapsedMs: number;
  /** False when stopped by the signal before the end. */
  complete: boolean;
}

/** Publishes the readings in order; rejects when the broker refuses a message. */
export async function replay(
  readings: readonly HeruV1Reading[],
  publisher: Publisher,
  options: ReplayOptions,
  log: Logger,
): Promise<ReplaySummary> {
  const batch = batchSizeFor(options);
  const messages = heruV1Messages(options.deviceId, readings, batch);
  const started = Date.now();
  const sent = new Set<Promise<void>>();
  let failure: Error | undefined;
  let acknowledged = 0;
  let offset = 0;
  let count = 0;

  for (const message of messages) {
    if (options.signal?.aborted || failure) break;
    if (options.rate !== undefined) {
      // A message leaves when its last reading is due, as from a device that batches.
      const due = started + ((offset + message.readings) / options.rate) * 1000;
      await sleep(due - Date.now(), options.signal);
      if (options.signal?.aborted) break;
    }
    await publisher.freeSlot();
    const p: Promise<void> = publisher.publish(message).then(
      () => void (acknowledged += message.readings),
      (err: Error) => void (failure ??= err),
    );
    sent.add(p);
    void p.finally(() => sent.delete(p));
    offset += message.readings;
    count += 1;
    log.debug({ readings: message.readings, sent: offset }, 'replay message sent');
  }
  await Promise.all(sent);
  if (failure) throw new Error(`the broker did not take a message: ${failure.message}`);
  return {
    deviceId: options.deviceId,
    readings: readings.length,
    acknowledged,
    messages: count,
    elapsedMs: Date.now() - started,
    complete: acknowledged === readings.length,
  };
}

function batchSizeFor(o: ReplayOptions): number {
  const batch = o.batchSize ?? 500;
  // With a rate, smaller messages keep the pace even: about ten a second.
  return o.rate === undefined
    ? batch
    : Math.max(1, Math.min(batch, Math.ceil(o.rate / 10)));
}
