import { readFile } from 'node:fs/promises';
import type { IngestConfig, MqttConfig } from '../config/config.js';
import type { Pool } from '../db/pool.js';
import type { Health } from '../health.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { MqttConsumer, type ConsumerOptions } from '../mqtt/consumer.js';
import { CODECS } from './codecs/index.js';
import { Decoder } from './decoder.js';
import { IngestPipeline } from './pipeline.js';

/** MQTT in, PostgreSQL out: the consumer, the decoder and the batching pipeline. */
export class IngestService {
  readonly pipeline: IngestPipeline;
  private readonly consumer: MqttConsumer;

  private constructor(consumer: MqttConsumer, pipeline: IngestPipeline) {
    this.consumer = consumer;
    this.pipeline = pipeline;
  }

  static async create(deps: {
    pool: Pool;
    mqtt: MqttConfig;
    ingest: IngestConfig;
    metrics: Metrics;
    log: Logger;
  }): Promise<IngestService> {
    const log = deps.log.child({ part: 'ingest' });
    const consumer = new MqttConsumer(await consumerOptions(deps.mqtt), log);
    const decoder = new Decoder(CODECS, deps.ingest);
    const pipeline = new IngestPipeline(
      deps.pool,
      decoder,
      consumer,
      deps.ingest,
      deps.metrics,
      log,
    );
    consumer.on('message', (d) => pipeline.push(d));
    return new IngestService(consumer, pipeline);
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
      await this.consumer.close();
    }
  }
}

async function consumerOptions(m: MqttConfig): Promise<ConsumerOptions> {
  const topics = CODECS.flatMap((c) => c.topics).map((t) =>
    m.sharedGroup ? `$share/${m.sharedGroup}/${t}` : t,
  );
  const o: ConsumerOptions = {
    url: m.url,
    clientId: m.clientId,
    topics,
    receiveMaximum: m.receiveMaximum,
    keepaliveSeconds: m.keepaliveSeconds,
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
