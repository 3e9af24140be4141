import { randomBytes, randomInt } from 'node:crypto';
import { readMqttConfig } from '../config/config.js';
import type { Env } from '../config/env.js';
import type { Logger } from '../log.js';
import { runLive } from '../simulate/live.js';
import { Publisher, type PublisherOptions } from '../simulate/publisher.js';

/** A running simulation beside the server (`npm start -- --simulate 20`). */
export interface Simulation {
  stop(): Promise<void>;
}

/** Seconds between two readings of a simulated device: the dashboard fills at once. */
const INTERVAL_MS = 5_000;

/**
 * Starts `devices` simulated fridges (`sim-001`, …) publishing into the broker that
 * ingest reads (the embedded one or MQTT_URL's), until `stop`. A failure to connect
 * is logged, not fatal: the server goes on without them.
 */
export function startSimulation(devices: number, env: Env, log: Logger): Simulation {
  const abort = new AbortController();
  const simLog = log.child({ part: 'simulate' });
  const done = (async () => {
    const mqtt = readMqttConfig(env);
    const options: PublisherOptions = {
      url: mqtt.url,
      clientId: `heru-sim-${randomBytes(4).toString('hex')}`,
      protocolVersion: mqtt.protocolVersion,
    };
    for (const k of ['username', 'password', 'caFile', 'certFile', 'keyFile'] as const) {
      const v = mqtt[k];
      if (v !== undefined) options[k] = v;
    }
    const publisher = await Publisher.connect(options, simLog);
    simLog.info({ devices, intervalMs: INTERVAL_MS }, 'simulated devices started');
    try {
      await runLive(
        {
          devices,
          intervalMs: INTERVAL_MS,
          prefix: 'sim',
          excursions: true,
          faults: false,
          offline: false,
          format: 'heru-v1',
          seed: randomInt(0, 2 ** 31),
          signal: abort.signal,
        },
        publisher,
        simLog,
      );
    } finally {
      await publisher.close();
    }
  })().catch((err: Error) =>
    simLog.error({ err: err.message }, 'simulated devices stopped'),
  );
  return {
    async stop() {
      abort.abort();
      await done;
    },
  };
}
