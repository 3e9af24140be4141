/**
 * Live simulation: `devices` simulated fridges, each taking a reading every
 * `intervalMs` at its own phase and publishing it, until `durationMs` has passed,
 * each device has taken `count` readings, or the signal aborts. At the end every
 * device sends what it still buffers, and the run waits for the acknowledgements.
 *
 * Readings are stamped with the time they were due, not the time the timer fired, and
 * the model advances by exactly one interval per reading: the same seed gives the same
 * values whatever the machine's load.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from '../log.js';
import { SimDevice, type Emission } from './device.js';
import {
  firmwareMessage,
  heruV1Messages,
  type OutgoingMessage,
  type WireFormat,
} from './payload.js';
import type { Publisher } from './publisher.js';
import { Random } from './random.js';
import { sleep } from './sleep.js';

export interface LiveOptions {
  devices: number;
  /** Milliseconds between two readings of a device, a whole number. */
  intervalMs: number;
  /** Device ids are `{prefix}-001`, `{prefix}-002`, … */
  prefix: string;
  /** Milliseconds to run; undefined runs until `count` or the signal. */
  durationMs?: number;
  /** Readings per device; undefined runs until `durationMs` or the signal. */
  count?: number;
  excursions: boolean;
  faults: boolean;
  offline: boolean;
  format: WireFormat;
  seed: number;
  signal?: AbortSignal;
}

export interface LiveSummary {
  devices: number;
  /** Readings the devices took. */
  readings: number;
  /** Readings in messages the broker took (acknowledged at QoS 1, written at QoS 0). */
  published: number;
  messages: number;
  /** Messages that failed to publish. */
  failed: number;
  /** Bursts of buffered readings sent after an offline period. */
  bursts: number;
  /** Readings lost offline (no buffering, or past the buffer limit). */
  lost: number;
  elapsedMs: number;
}

/** Milliseconds the end of a run waits for outstanding acknowledgements. */
const SETTLE_MS = 30_000;

/** The ids the run uses, in order. */
export function deviceIds(prefix: string, n: number): string[] {
  const width = Math.max(3, String(n).length);
  return Array.from(
    { length: n },
    (_, i) => `${prefix}-${String(i + 1).padStart(width, '0')}`,
  );
}

/** Runs the simulation; resolves with what was sent once it has stopped. */
export async function runLive(
  options: LiveOptions,
  publisher: Publisher,
  log: Logger,
): Promise<LiveSummary> {
  const master = new Random(options.seed);
  const devices = deviceIds(options.prefix, options.devices).map(
    (id) =>
      new SimDevice({
        id,
        random: master.fork(),
        excursions: options.excursions,
        faults: options.faults,
        offline: options.offline,
        buffers: options.format === 'heru-v1',
      }),
  );
  // Whole milliseconds, so that every step of the model is exactly one interval.
  const phases = devices.map(() => Math.floor(master.next() * options.intervalMs));
  const stop = followSignal(options.signal);
  const run = new Run({ ...options, signal: stop.signal }, publisher, log);
  const progress = setInterval(() => run.logProgress(), 10_000);
  try {
    await Promise.all(devices.map((d, i) => run.device(d, phases[i]!)));
    await run.settled();
  } finally {
    clearInterval(progress);
    stop.dispose();
  }
  return run.summary(devices);
}

/** A signal that aborts with `outer`, without a listener limit: every device waits on it. */
function followSignal(outer?: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const inner = new AbortController();
  setMaxListeners(0, inner.signal);
  const abort = (): void => inner.abort();
  if (outer?.aborted) inner.abort();
  outer?.addEventListener('abort', abort, { once: true });
  return {
    signal: inner.signal,
    dispose: () => outer?.removeEventListener('abort', abort),
  };
}

/** The state of one run: timing, counters, messages awaiting acknowledgement. */
class Run {
  private readonly start = Date.now();
  private readonly end: number;
  private readonly sent = new Set<Promise<void>>();
  private readonly counts = {
    readings: 0,
    published: 0,
    messages: 0,
    failed: 0,
    bursts: 0,
  };

  constructor(
    private readonly options: LiveOptions,
    private readonly publisher: Publisher,
    private readonly log: Logger,
  ) {
    this.end =
      options.durationMs === undefined ? Infinity : this.start + options.durationMs;
  }

  async device(device: SimDevice, phaseMs: number): Promise<void> {
    const { count, intervalMs, signal } = this.options;
    let wasOffline = false;
    for (let k = 0; count === undefined || k < count; k++) {
      const due = this.start + phaseMs + k * intervalMs;
      if (due > this.end) break;
      await sleep(due - Date.now(), signal);
      if (signal?.aborted) break;
      await this.publisher.freeSlot();
      this.counts.readings += 1;
      this.send(device.id, device.tick(due));
      if (device.isOffline !== wasOffline) {
        wasOffline = device.isOffline;
        this.log.info(
          { device: device.id },
          wasOffline ? 'device offline' : 'device back',
        );
      }
    }
    this.send(device.id, device.flush());
  }

  /** Waits for the acknowledgements, at most SETTLE_MS (the broker may be gone). */
  async settled(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SETTLE_MS);
    });
    await Promise.race([Promise.all(this.sent), timeout]);
    clearTimeout(timer);
  }

  logProgress(): void {
    this.log.info(
      { ...this.counts, pending: this.publisher.pending },
      'simulation running',
    );
  }

  summary(devices: readonly SimDevice[]): LiveSummary {
    return {
      devices: devices.length,
      ...this.counts,
      lost: devices.reduce((n, d) => n + d.lost, 0),
      elapsedMs: Date.now() - this.start,
    };
  }

  private send(deviceId: string, emissions: readonly Emission[]): void {
    for (const e of emissions) {
      if (e.burst) {
        this.counts.bursts += 1;
        this.log.info(
          { device: deviceId, readings: e.readings.length },
          'buffered readings sent',
        );
      }
      for (const m of this.messagesOf(deviceId, e)) this.publish(deviceId, m);
    }
  }

  private messagesOf(deviceId: string, e: Emission): OutgoingMessage[] {
    return this.options.format === 'heru-v1'
      ? heruV1Messages(deviceId, e.readings)
      : e.readings.map((r) => firmwareMessage(deviceId, r));
  }

  private publish(deviceId: string, m: OutgoingMessage): void {
    this.counts.messages += 1;
    const p: Promise<void> = this.publisher.publish(m).then(
      () => void (this.counts.published += m.readings),
      (err: Error) => {
        this.counts.failed += 1;
        this.log.warn({ device: deviceId, err: err.message }, 'publish failed');
      },
    );
    this.sent.add(p);
    void p.then(() => this.sent.delete(p));
  }
}
