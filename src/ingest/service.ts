import { readFile } from 'node:fs/promises';
import type { IngestConfig, MqttConfig } from '../config/config.js';
import type { Pool } from '../db/pool.js';
import type { Health } from '../health.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { DeviceGate } from '../devices/deviceGate.js';
import { MqttConsumer, type ConsumerOptions } from '../mqtt/consumer.js';
import { MappingRegistry } from '../mappings/registry.js';
import { CODECS, codecsWith } from './codecs/index.js';
import { Decoder } from './decoder.js';
import { limitHeapGrowth } from './heapGrowth.js';
import { IngestPipeline } from './pipeline.js';

/** MQTT in, PostgreSQL out: the consumer, the decoder and the batching pipeline. */
export class IngestService {
  readonly pipeline: IngestPipeline;
  private readonly consumer: MqttConsumer;
  private readonly mappings: MappingRegistry;

  private constructor(
    consumer: MqttConsumer,
    pipeline: IngestPipeline,
    mappings: MappingRegistry,
  ) {
    this.consumer = consumer;
    this.pipeline = pipeline;
    this.mappings = mappings;
  }

  static async create(deps: {
    pool: Pool;
    mqtt: MqttConfig;
    ingest: IngestConfig;
    metrics: Metrics;
    log: Logger;
    /** The device registry's check of each message; none admits every device. */
    gate?: DeviceGate;
  }): Promise<IngestService> {
    limitHeapGrowth();
    const log = deps.log.child({ part: 'ingest' });
    // Operator mappings and device settings, kept fresh; new mapping topics are
    // subscribed to while running.
    const mappings = new MappingRegistry(deps.pool, deps.log.child({ part: 'mappings' }));
    await mappings.start();
    const topics = CODECS.flatMap((c) => c.topics);
    const consumer = new MqttConsumer(await consumerOptions(deps.mqtt, topics), log);
    // Apart from the built-in topics: a mapping topic the broker refuses is dropped
    // and logged, it does not stop ingest.
    const subscribe = (t: readonly string[]) =>
      consumer.subscribe(t.map((f) => shared(deps.mqtt, f)));
    subscribe(mappings.topics());
    mappings.on('topics', subscribe);
    const decoder = new Decoder(codecsWith(mappings), deps.ingest, mappings, deps.gate);
    const pipeline = new IngestPipeline(
      deps.pool,
      decoder,
      consumer,
      deps.ingest,
      deps.metrics,
      log,
    );
    consumer.on('message', (d) => pipeline.push(d));
    return new IngestService(consumer, pipeline, mappings);
  }

  start(): void {
    this.consumer.start();
  }

  registerHealth(health: Health): void {
    health.register('mqtt', () => {
      const s = this.consumer.status();
      if (s.state === 'connected') return { status: 'ok', since: s.connectedSince };
      const why = s.lastError ? `${s.lastError.code}: ${s.lastError.message}` : s.state;
      return {
        status: 'failing',
        detail: `not connected to the broker (${why})`,
        lastError: s.lastError,
      };
    });
    health.register('ingest', () => {
      const s = this.pipeline.status();
      if (!s.lastError) return { status: 'ok', pending: s.pending };
      return {
        status: 'failing',
        detail: `commits failing since ${s.lastError.since}: ${s.lastError.message}; nothing is acknowledged meanwhile`,
        pending: s.pending,
      };
    });
  }

  /** Stops reading, commits and acknowledges what is in hand, then disconnects. */
  async close(): Promise<void> {
    this.consumer.pause();
    try {
      await this.pipeline.close();
    } finally {
      try {
        await this.consumer.close();
      } finally {
        await this.mappings.close();
      }
    }
  }
}

/** The filter as this instance subscribes to it: within its shared group, if any. */
function shared(m: MqttConfig, filter: string): string {
  return m.sharedGroup ? `$share/${m.sharedGroup}/${filter}` : filter;
}

async function consumerOptions(
  m: MqttConfig,
  filters: readonly string[],
): Promise<ConsumerOptions> {
  const o: ConsumerOptions = {
    url: m.url,
    clientId: m.clientId,
    topics: filters.map((f) => shared(m, f)),
    receiveMaximum: m.receiveMaximum,
    keepaliveSeconds: m.keepaliveSeconds,
    protocolVersion: m.protocolVersion,
  };
  if (m.username !== undefined) o.username = m.username;
  if (m.password !== undefined) o.password = m.password;
  if (m.caFile) o.ca = await readPem(m.caFile, 'MQTT_CA_FILE');
  if (m.certFile) o.cert = await readPem(m.certFile, 'MQTT_CERT_FILE');
  if (m.keyFile) o.key = await readPem(m.keyFile, 'MQTT_KEY_FILE');
  return o;
}

async function readPem(path: string, variable: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new Error(
      `${variable} points at ${path}, which cannot be read: ${(err as Error).message}`,
    );
  }
}
