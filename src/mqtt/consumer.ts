/**
 * The ingest side of MQTT, written on the packet layer.
 *
 * MQTT asks a subscriber to acknowledge QoS 1 messages in the order it received them,
 * and ingest may acknowledge a message only after its raw bytes are committed. A
 * client that hands over one message and waits for its acknowledgement before
 * reading the next gets one message per commit. This consumer instead keeps the
 * broker's window open (MQTT 5 Receive Maximum; MQTT 3.1.1 has no window, the broker
 * sends what it has): it hands every message over as it
 * arrives, the pipeline commits them in batches, and `ack` / `ackAll` send the
 * PUBACKs in receive order once a whole prefix of the window is committed (see
 * ackWindow.ts), all those of one commit in a single write.
 *
 * States: `connecting` → `connected` → (`disconnected` → `connecting` …) → `closed`.
 * On any loss (socket error, missed ping, DISCONNECT from the broker) it reconnects
 * with exponential backoff. The session is persistent (clean start off, a fixed
 * client id, a session expiry), so what was not acknowledged is sent again by the
 * broker after the reconnect; acknowledgements meant for an older connection are
 * dropped, as their messages will come again.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import mqttPacket from 'mqtt-packet';
import type { Logger } from '../log.js';
import type { IncomingMessage } from '../ingest/decoder.js';
import { AckWindow } from './ackWindow.js';
import {
  connectPacket,
  pubacks,
  reasonText,
  subscribePacket,
  versionOf,
  type ConsumerOptions,
} from './packets.js';

export type { ConsumerOptions } from './packets.js';

/** One message handed to the pipeline, and the ticket to acknowledge it. */
export interface Delivery extends IncomingMessage {
  /** Connection it came on and its packet id; a QoS 0 message needs no ack. */
  ticket: { connection: number; messageId: number } | null;
}

export type ConsumerState =
  'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface ConsumerStatus {
  state: ConsumerState;
  /** The last connection failure, with the TLS or network code when there is one. */
  lastError?: { code: string; message: string; at: string };
  connectedSince?: string;
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
const CONNACK_TIMEOUT_MS = 10_000;

export class MqttConsumer extends EventEmitter<{
  message: [Delivery];
  state: [ConsumerState];
}> {
  private socket: net.Socket | null = null;
  private connection = 0;
  private window = new AckWindow(0);
  private state: ConsumerState = 'idle';
  private lastError: ConsumerStatus['lastError'];
  private connectedSince: Date | undefined;
  private attempts = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastPacketAt = 0;
  private paused = false;
  private readAt = new Date();
  /** Filters added by `subscribe`; the SUBSCRIBEs of them awaiting their SUBACK. */
  private readonly added: string[] = [];
  private readonly addedInFlight = new Map<number, string[]>();
  private subscribeId = 1;

  constructor(
    private readonly options: ConsumerOptions,
    private readonly log: Logger,
  ) {
    super();
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.open();
  }

  status(): ConsumerStatus {
    const s: ConsumerStatus = { state: this.state };
    if (this.lastError) s.lastError = this.lastError;
    if (this.connectedSince) s.connectedSince = this.connectedSince.toISOString();
    return s;
  }

  /** Stops reading from the broker (backpressure); the broker keeps what it has. */
  pause(): void {
    this.paused = true;
    // Before its CONNACK a connection must be read; onConnack pauses it then.
    if (this.state === 'connected') this.socket?.pause();
  }

  resume(): void {
    this.paused = false;
    // Silence while we were not reading says nothing of the broker: restart its clock.
    this.lastPacketAt = Date.now();
    this.socket?.resume();
  }

  /** Marks a delivery committed; PUBACKs leave in receive order. */
  ack(delivery: Delivery): void {
    this.ackAll([delivery]);
  }

  /**
   * Marks deliveries committed and sends, in one write, the PUBACKs that are now due:
   * those of the longest committed prefix of the window, in receive order.
   * Deliveries of an earlier connection are skipped; the broker sends them again.
   */
  ackAll(deliveries: readonly Delivery[]): void {
    const w = this.window;
    let marked = 0;
    for (const d of deliveries) {
      if (d.ticket && d.ticket.connection === w.connection) {
        w.commit(d.ticket.messageId);
        marked += 1;
      }
    }
    if (marked === 0 || !this.socket || this.socket.destroyed) return;
    const due = w.release();
    if (due.length > 0) this.socket.write(pubacks(due));
  }

  /**
   * Adds topic filters (a mapping added at run time): subscribed at once when
   * connected, and again at every reconnect. Unlike the filters of the options, one
   * the broker refuses is dropped with an error logged; the connection goes on.
   */
  subscribe(topics: readonly string[]): void {
    const fresh = topics.filter(
      (t) => !this.options.topics.includes(t) && !this.added.includes(t),
    );
    if (fresh.length === 0) return;
    this.added.push(...fresh);
    if (this.state === 'connected') this.subscribeAdded(fresh);
  }

  private subscribeAdded(filters: string[]): void {
    this.subscribeId = (this.subscribeId % 0xfffe) + 2;
    this.addedInFlight.set(this.subscribeId, filters);
    this.send({
      ...subscribePacket({ ...this.options, topics: filters }),
      messageId: this.subscribeId,
    });
  }

  /** Disconnects cleanly; unacknowledged messages stay with the broker for next time. */
  async close(): Promise<void> {
    this.setState('closed');
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const s = this.socket;
    this.socket = null;
    if (!s || s.destroyed) return;
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.end(
        mqttPacket.generate(
          { cmd: 'disconnect', reasonCode: 0 },
          { protocolVersion: versionOf(this.options) },
        ),
      );
      setTimeout(() => s.destroy(), 1_000).unref();
    });
  }

  private open(): void {
    this.setState('connecting');
    const id = ++this.connection;
    const socket = this.dial();
    this.socket = socket;
    const parser = mqttPacket.parser({ protocolVersion: versionOf(this.options) });
    let connacked = false;
    const connackTimer = setTimeout(() => {
      this.fail(id, { code: 'CONNACK_TIMEOUT', message: 'no CONNACK within 10 s' });
    }, CONNACK_TIMEOUT_MS);

    parser.on('packet', (packet: mqttPacket.Packet) => {
      this.lastPacketAt = Date.now();
      if (packet.cmd === 'connack') {
        clearTimeout(connackTimer);
        connacked = true;
        this.onConnack(id, packet);
      } else if (packet.cmd === 'publish') {
        this.onPublish(id, packet);
      } else if (packet.cmd === 'suback') {
        this.onSuback(id, packet);
      } else if (packet.cmd === 'disconnect') {
        const reason = reasonText(packet.reasonCode ?? 0);
        this.fail(id, {
          code: 'BROKER_DISCONNECT',
          message: `broker disconnected us: ${reason}`,
        });
      }
    });
    parser.on('error', (err: Error) => {
      this.fail(id, { code: 'PROTOCOL_ERROR', message: err.message });
    });
    socket.on('data', (buf: Buffer) => {
      // One receive time for every message completed by this read; one Date for all.
      this.readAt = new Date();
      parser.parse(buf);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.fail(id, { code: err.code ?? 'SOCKET_ERROR', message: err.message });
    });
    socket.on('close', () => {
      clearTimeout(connackTimer);
      this.fail(id, {
        code: 'CONNECTION_CLOSED',
        message: connacked ? 'connection closed' : 'closed before CONNACK',
      });
    });
    const ready = this.options.url.protocol === 'mqtts:' ? 'secureConnect' : 'connect';
    socket.once(ready, () => {
      this.send(connectPacket(this.options), socket);
    });
  }

  private dial(): net.Socket {
    const o = this.options;
    const port = Number(o.url.port) || (o.url.protocol === 'mqtts:' ? 8883 : 1883);
    const host = o.url.hostname.replace(/^\[|\]$/g, '');
    if (o.url.protocol !== 'mqtts:') return net.connect({ host, port });
    return tls.connect({
      host,
      port,
      servername: net.isIP(host) ? undefined : host,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      // Certificate checks are never switched off: an unknown CA, a wrong name or an
      // expired certificate fails the connection and shows in /health.
      rejectUnauthorized: true,
    });
  }

  private onConnack(id: number, p: mqttPacket.IConnackPacket): void {
    const code = p.reasonCode ?? p.returnCode ?? 0;
    if (code !== 0) {
      this.fail(id, {
        code: 'CONNACK_REFUSED',
        message: `broker refused the connection: ${reasonText(code)}`,
      });
      return;
    }
    this.window = new AckWindow(id);
    this.send(subscribePacket(this.options));
    this.addedInFlight.clear();
    if (this.added.length > 0) this.subscribeAdded([...this.added]);
    this.log.info(
      { sessionPresent: p.sessionPresent, clientId: this.options.clientId },
      'mqtt connected',
    );
    this.attempts = 0;
    this.connectedSince = new Date();
    this.lastError = undefined;
    this.setState('connected');
    this.startPings(id);
    // Paused by the pipeline before this connection: stop reading once the CONNACK
    // is in, not before it, or the connection could never be made.
    if (this.paused) this.socket?.pause();
  }

  private onSuback(id: number, p: mqttPacket.ISubackPacket): void {
    const added = this.addedInFlight.get(p.messageId ?? -1);
    if (added !== undefined) {
      this.addedInFlight.delete(p.messageId ?? -1);
      const refused = added.filter((_, i) => {
        const g = p.granted[i];
        return typeof g === 'number' && g >= 0x80;
      });
      if (refused.length === 0) return;
      for (const f of refused) this.added.splice(this.added.indexOf(f), 1);
      this.log.error(
        { filters: refused },
        "mqtt subscription refused; check the broker's ACL for this client",
      );
      return;
    }
    const refused = p.granted.filter((g) => typeof g === 'number' && g >= 0x80);
    if (refused.length > 0) {
      this.fail(id, {
        code: 'SUBSCRIBE_REFUSED',
        message: `broker refused ${refused.length} subscription(s); check the broker's ACL for this client`,
      });
    }
  }

  private onPublish(id: number, p: mqttPacket.IPublishPacket): void {
    if (id !== this.connection) return;
    const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload;
    let ticket: Delivery['ticket'] = null;
    if (p.qos > 0 && p.messageId !== undefined) {
      ticket = { connection: id, messageId: p.messageId };
      this.window.received(p.messageId);
    }
    this.emit('message', {
      topic: p.topic,
      payload,
      qos: p.qos,
      retain: p.retain,
      receivedAt: this.readAt,
      ticket,
    });
  }

  private startPings(id: number): void {
    clearInterval(this.pingTimer);
    const every = this.options.keepaliveSeconds * 1000;
    this.pingTimer = setInterval(() => {
      // While paused nothing is read, PINGRESPs included: only a reader may judge.
      if (!this.paused && Date.now() - this.lastPacketAt > every * 1.5) {
        this.fail(id, {
          code: 'KEEPALIVE_TIMEOUT',
          message: 'no answer from the broker within 1.5 keep-alive periods',
        });
        return;
      }
      this.send({ cmd: 'pingreq' });
    }, every / 2);
    this.pingTimer.unref();
  }

  private fail(id: number, error: { code: string; message: string }): void {
    if (id !== this.connection || this.state === 'closed') return;
    // Close and a socket error arrive for the same loss; the first one counts.
    this.connection += 1;
    clearInterval(this.pingTimer);
    this.socket?.destroy();
    this.socket = null;
    this.connectedSince = undefined;
    this.lastError = { ...error, at: new Date().toISOString() };
    this.setState('disconnected');
    const delay = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.attempts);
    const jittered = Math.round(delay * (0.5 + Math.random() / 2));
    this.attempts += 1;
    this.log.warn(
      { code: error.code, reason: error.message, retryInMs: jittered },
      'mqtt connection lost',
    );
    this.retryTimer = setTimeout(() => this.open(), jittered);
  }

  private send(packet: mqttPacket.Packet, socket = this.socket): void {
    if (socket && !socket.destroyed)
      socket.write(
        mqttPacket.generate(packet, { protocolVersion: versionOf(this.options) }),
      );
  }

  private setState(s: ConsumerState): void {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s);
  }
}
