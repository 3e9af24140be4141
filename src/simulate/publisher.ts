/**
 * The simulator's MQTT connection (MQTT.js, MQTT 5, clean start). At most
 * `maxInFlight` messages wait for their acknowledgement at once; `publish` waits for a
 * free place first, so a fast producer is held back by the broker's pace.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import type { OutgoingMessage } from './payload.js';

export interface PublisherOptions {
  /** `mqtt://` or `mqtts://`; user and password in it are used, never logged. */
  url: URL;
  clientId: string;
  username?: string;
  password?: string;
  /** PEM files for TLS: the broker's CA, and a client certificate and key. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Messages awaiting their PUBACK at once, default 32. */
  maxInFlight?: number;
  /** Milliseconds a message may wait for its acknowledgement (the broker gone), default 60000. */
  ackTimeoutMs?: number;
  /** Milliseconds to wait for the first CONNACK, default 10000. */
  connectTimeoutMs?: number;
  /** 5 (MQTT 5, default) or 4 (MQTT 3.1.1, for brokers without MQTT 5). */
  protocolVersion?: 4 | 5;
}

export class Publisher {
  private inFlight = 0;
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly client: MqttClient,
    private readonly maxInFlight: number,
    private readonly ackTimeoutMs: number,
    private readonly log: Logger,
  ) {}

  /** Connects, or fails with the broker address and the reason. */
  static async connect(options: PublisherOptions, log: Logger): Promise<Publisher> {
    const where = `${options.url.protocol}//${options.url.host}`;
    const client = mqtt.connect(clientOptions(options));
    try {
      await firstConnack(client, options.connectTimeoutMs ?? 10_000);
    } catch (err) {
      client.end(true);
      throw new Error(
        `could not connect to the MQTT broker at ${where}: ${(err as Error).message}; ` +
          'check --url or MQTT_URL and that the broker runs',
      );
    }
    const child = log.child({ broker: where, clientId: options.clientId });
    client.on('offline', () => child.warn('mqtt connection lost; reconnecting'));
    client.on('error', (err) => child.warn({ err: err.message }, 'mqtt error'));
    child.info('mqtt connected');
    return new Publisher(
      client,
      options.maxInFlight ?? 32,
      options.ackTimeoutMs ?? 60_000,
      child,
    );
  }

  /** Publishes; resolves once the broker acknowledged it (QoS 1) or it was sent (QoS 0). */
  async publish(message: OutgoingMessage): Promise<void> {
    // Checked again after every wake-up: another caller may have taken the place.
    while (this.inFlight >= this.maxInFlight) await this.nextWake();
    this.inFlight += 1;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no acknowledgement within ${this.ackTimeoutMs} ms`)),
        this.ackTimeoutMs,
      );
    });
    try {
      const options = { qos: message.qos };
      await Promise.race([
        this.client.publishAsync(message.topic, message.payload, options),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
      this.inFlight -= 1;
      this.wake();
    }
  }

  /** Resolves when `publish` would start at once. */
  async freeSlot(): Promise<void> {
    while (this.inFlight >= this.maxInFlight) await this.nextWake();
  }

  /** Messages awaiting their acknowledgement. */
  get pending(): number {
    return this.inFlight;
  }

  /** Waits up to `timeoutMs` for unacknowledged messages, then disconnects. */
  async close(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (this.inFlight > 0) {
      this.log.warn(
        { unacknowledged: this.inFlight },
        'closing with messages unacknowledged',
      );
    }
    await this.client.endAsync(this.inFlight > 0);
  }

  private nextWake(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

function clientOptions(o: PublisherOptions): IClientOptions {
  const tls = o.url.protocol === 'mqtts:';
  const opts: IClientOptions = {
    protocol: tls ? 'mqtts' : 'mqtt',
    hostname: o.url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(o.url.port) || (tls ? 8883 : 1883),
    clientId: o.clientId,
    protocolVersion: o.protocolVersion ?? 5,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: o.connectTimeoutMs ?? 10_000,
  };
  if (o.username !== undefined) opts.username = o.username;
  if (o.password !== undefined) opts.password = o.password;
  if (tls) {
    // Certificate checks stay on: an unknown CA or a wrong name fails the connection.
    opts.rejectUnauthorized = true;
    if (o.caFile) opts.ca = readFileSync(o.caFile);
    if (o.certFile) opts.cert = readFileSync(o.certFile);
    if (o.keyFile) opts.key = readFileSync(o.keyFile);
  }
  return opts;
}

/** The first CONNACK, or the first reason the connection failed. */
function firstConnack(client: MqttClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`no CONNACK within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onError = (err: Error): void => done(err);
    const onClose = (): void => done(new Error('the connection was closed'));
    const done = (err?: Error): void => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onConnect = (): void => done();
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}
