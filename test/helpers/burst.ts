/**
 * A burst of QoS 1 readings in the server's own format, published by real MQTT.js
 * clients, each reading unique by (device, boot 1, seq from 0). A reading counts as published
 * once the broker has acknowledged it (PUBACK); MQTT.js sends what is unacknowledged
 * again after a reconnect, so a burst survives a broker restart.
 */
import mqtt from 'mqtt';

export interface BurstOptions {
  brokerUrl: string;
  /** Prefix of the device ids; devices are `{prefix}-0` … */
  devicePrefix: string;
  devices: number;
  readingsPerDevice: number;
  /** Publishing connections; devices are spread over them. Default 4. */
  clients?: number;
  /** QoS 1 messages each connection keeps unacknowledged at most, default 200. */
  window?: number;
  /** Milliseconds the whole burst may take before it fails, default 60 000. */
  timeoutMs?: number;
  /** Device time of reading 0 (ms since 1970); default two days ago. */
  baseMs?: number;
  /** Temperature of reading `seq` of device number `device`; default in range. */
  temperature?: (device: number, seq: number) => number;
  /** Readings a second at most, all connections together; default as fast as acked. */
  ratePerSecond?: number;
}

export interface Burst {
  /** Readings the broker has acknowledged so far. */
  readonly acked: number;
  readonly total: number;
  /** Resolves when every reading is acknowledged; rejects on timeout. */
  readonly done: Promise<void>;
  /** Ends the publishing connections (also after a failure). */
  close(): Promise<void>;
}

interface Message {
  topic: string;
  payload: string;
}

export const readingsTopic = (deviceId: string): string =>
  `heru/v1/devices/${deviceId}/readings`;

/** In the default 2–8 °C range, 2.0 to 7.9 °C. */
const inRange = (_device: number, seq: number): number => 2 + (seq % 60) / 10;

/** The payload of reading `seq` of a device, with a plausible device time. */
export function readingPayload(
  seq: number,
  boot: number,
  baseMs: number,
  temperature = inRange(0, seq),
): string {
  return JSON.stringify({
    boot,
    seq,
    time: new Date(baseMs + seq * 1000).toISOString(),
    temperature,
    humidity: 50,
  });
}

/** Starts publishing at once; see `Burst.done`. */
export async function startBurst(o: BurstOptions): Promise<Burst> {
  const clientCount = o.clients ?? 4;
  // Two days back leaves room for 172,800 readings a second apart, all in the past.
  const baseMs = o.baseMs ?? Date.now() - 2 * 24 * 3600 * 1000;
  const temperature = o.temperature ?? inRange;
  const queues: Message[][] = Array.from({ length: clientCount }, () => []);
  for (let d = 0; d < o.devices; d += 1) {
    const topic = readingsTopic(`${o.devicePrefix}-${d}`);
    for (let seq = 0; seq < o.readingsPerDevice; seq += 1) {
      const payload = readingPayload(seq, 1, baseMs, temperature(d, seq));
      queues[d % clientCount]!.push({ topic, payload });
    }
  }
  const clients = await Promise.all(
    queues.map((_, i) =>
      mqtt.connectAsync(o.brokerUrl, {
        clientId: `${o.devicePrefix}-pub-${i}`,
        reconnectPeriod: 300,
        connectTimeout: 5_000,
      }),
    ),
  );
  const state = { acked: 0 };
  // Each connection takes its share of the rate: message k of a lane waits for its slot.
  const pace =
    o.ratePerSecond === undefined
      ? undefined
      : { start: Date.now(), msPerMessage: (1000 * clientCount) / o.ratePerSecond };
  const all = Promise.all(
    clients.map((c, i) => pump(c, queues[i]!, o.window ?? 200, state, pace)),
  ).then(() => undefined);
  // After a timeout the lanes fail as `close` ends their connections; `done` tells.
  all.catch(() => undefined);
  const done = withTimeout(all, o.timeoutMs ?? 60_000, () => state.acked);
  done.catch(() => undefined);
  return {
    get acked() {
      return state.acked;
    },
    total: o.devices * o.readingsPerDevice,
    done,
    async close() {
      await Promise.all(clients.map((c) => c.endAsync(true)));
    },
  };
}

async function pump(
  client: mqtt.MqttClient,
  queue: readonly Message[],
  window: number,
  state: { acked: number },
  pace?: { start: number; msPerMessage: number },
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < queue.length) {
      const m = queue[next]!;
      next += 1;
      if (pace) {
        const wait = pace.start + (next - 1) * pace.msPerMessage - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      await publishUntilAcked(client, m);
      state.acked += 1;
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
}

/**
 * MQTT.js fails a publish whose connection closed while it was still queued; a device
 * sends such a reading again, and so does this (a second copy is a duplicate by its
 * natural key, which the server must absorb).
 */
async function publishUntilAcked(client: mqtt.MqttClient, m: Message): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await client.publishAsync(m.topic, m.payload, { qos: 1 });
      return;
    } catch (err) {
      if (attempt >= 50 || client.disconnecting) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function withTimeout(
  p: Promise<void>,
  ms: number,
  acked: () => number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`burst not acknowledged within ${ms} ms (${acked()} were)`)),
      ms,
    );
  });
  try {
    await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls a count until it reaches `target` and holds for a second, or has not grown
 * for 10 s, or 60 s have passed; returns the last count.
 */
export async function waitUntilSteady(
  read: () => Promise<number>,
  target: number,
): Promise<number> {
  let last = -1;
  let since = Date.now();
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    const n = await read();
    if (n !== last) [last, since] = [n, Date.now()];
    const steadyFor = Date.now() - since;
    if ((n >= target && steadyFor >= 1_000) || steadyFor >= 10_000) return n;
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}
