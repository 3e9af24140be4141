/**
 * Devices coming back after an outage: each opens its own MQTT connection, all at
 * once, and publishes the readings it buffered as backlog messages
 * (`heru/sensors/{id}/backlog`, a JSON array of `{"time": …, "temperature": …}`) at
 * QoS 1. A message counts as sent once the broker has acknowledged it. Also: the
 * peak resident memory of a process while they do (RssSampler).
 */
import mqtt from 'mqtt';

/** One buffered reading: its time (ms since 1970) and temperature (°C). */
export interface BufferedReading {
  timeMs: number;
  temperature: number;
}

export interface FlushingDevice {
  id: string;
  /** Backlog messages in the order the device sends them. */
  messages: BufferedReading[][];
}

export interface FlushResult {
  /** Messages the broker acknowledged. */
  messages: number;
  /** Readings in those messages, repeats included. */
  readings: number;
}

export const backlogTopic = (deviceId: string): string =>
  `heru/sensors/${deviceId}/backlog`;

/** A backlog message's payload: times in whole seconds, as the README shows. */
export function backlogPayload(readings: readonly BufferedReading[]): string {
  return JSON.stringify(
    readings.map((r) => ({ time: r.timeMs / 1000, temperature: r.temperature })),
  );
}

/**
 * Connects every device at once, then has each publish its messages in order with
 * at most `window` unacknowledged. Rejects after `timeoutMs`; the connections are
 * ended either way.
 */
export async function flushDevices(
  brokerUrl: string,
  devices: readonly FlushingDevice[],
  o: { window?: number; timeoutMs: number },
): Promise<FlushResult> {
  const clients = await Promise.all(
    devices.map((d) =>
      mqtt.connectAsync(brokerUrl, {
        clientId: d.id,
        reconnectPeriod: 500,
        connectTimeout: 10_000,
        protocolVersion: 4,
      }),
    ),
  );
  const result: FlushResult = { messages: 0, readings: 0 };
  let timer: NodeJS.Timeout | undefined;
  try {
    const all = Promise.all(
      devices.map((d, i) => publishAll(clients[i]!, d, o.window ?? 5, result)),
    );
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`flush not acknowledged within ${o.timeoutMs} ms`)),
        o.timeoutMs,
      );
    });
    await Promise.race([all, timeout]);
    return result;
  } finally {
    clearTimeout(timer);
    await Promise.all(clients.map((c) => c.endAsync(true)));
  }
}

async function publishAll(
  client: mqtt.MqttClient,
  device: FlushingDevice,
  window: number,
  result: FlushResult,
): Promise<void> {
  const topic = backlogTopic(device.id);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < device.messages.length) {
      const readings = device.messages[next]!;
      next += 1;
      await client.publishAsync(topic, backlogPayload(readings), { qos: 1 });
      result.messages += 1;
      result.readings += readings.length;
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
}

/**
 * The resident memory of a process sampled while a test runs, for its peak. The pid
 * is asked at every sample (the process may have been restarted), `read` gives its
 * memory in kB (statusKb of bench/procStats.ts).
 */
export class RssSampler {
  /** Largest memory seen, in kB. */
  maxKb = 0;
  samples = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pid: () => number | undefined,
    private readonly read: (pid: number) => number | undefined,
  ) {}

  /** Samples now and every `everyMs` milliseconds (default 250) until `stop`. */
  start(everyMs = 250): void {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.sample();
  }

  sample(): void {
    const pid = this.pid();
    const kb = pid === undefined ? undefined : this.read(pid);
    if (kb === undefined) return;
    this.samples += 1;
    this.maxKb = Math.max(this.maxKb, kb);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
