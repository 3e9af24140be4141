/**
 * The device's acknowledgement after ingest's commit, in the embedded broker.
 *
 * Aedes keeps its queues in memory and answers a QoS 1 PUBLISH with its PUBACK
 * before it hands the message on: a process killed in between would lose a message
 * the device had been told was safe. The only step Aedes runs before that PUBACK is
 * `authorizePublish`, which may answer later. So the gate, called from there, hands
 * the message to the broker itself (to ingest's subscription, like any publish) and
 * answers only when ingest's own PUBACK for it comes back, which ingest sends after
 * the commit (src/mqtt/consumer.ts). Then Aedes sends the device its PUBACK, and
 * would publish the message a second time: the broker's `publish` is wrapped to skip
 * a message the gate already handed on. Ingest stays the one MQTT consumer it is
 * with any broker; nothing else writes readings.
 *
 * - Until ingest has subscribed (early in a start), publishes wait: a message nobody
 *   subscribes to would be dropped.
 * - Only messages on a topic ingest subscribes to at QoS 1 wait; others (QoS 0, or a
 *   topic nobody ingests) pass as before.
 * - While ingest is away (reconnecting), its persistent session queues the message
 *   and the device waits.
 * - On close, every message still waiting is refused: Aedes closes that connection
 *   without a PUBACK, and the device sends the message again to the next start.
 *
 * The copies carry a broker id of their own and a counter, Aedes's way of telling a
 * packet it has already delivered to a client from a new one; the PUBACK of ingest
 * names that counter.
 */
import { randomUUID } from 'node:crypto';
import type { Aedes, Client, PublishPacket, Subscription } from 'aedes';
import type { Logger } from '../log.js';
import { matchesEmptyLevel, topicMatches } from './topicFilter.js';

/** Aedes's `publish` as it is called internally: with the publishing client. */
type PublishWithClient = (
  packet: PublishPacket,
  client: Client | null,
  done: (err?: Error | null) => void,
) => void;

/** The fields Aedes keeps on a packet it delivers (aedes-packet). */
interface DeliveredPacket {
  brokerId?: string;
  brokerCounter?: number;
}

type Done = (err?: Error | null) => void;

export class CommitGate {
  private readonly id = `heru-commit-${randomUUID()}`;
  private counter = 0;
  /** Ingest's subscriptions: filter → QoS. */
  private readonly filters = new Map<string, number>();
  private subscribed = false;
  /** Publishes that came before ingest subscribed, in arrival order. */
  private readonly early: Array<() => void> = [];
  /** Messages handed on and not yet acknowledged by ingest, by counter. */
  private readonly waiting = new Map<number, Done>();
  /** The device packets handed on, whose second publish by Aedes is skipped. */
  private readonly handedOn = new WeakSet<PublishPacket>();
  private closed = false;
  /** Aedes's own publish, which the one on the broker wraps. */
  private publish: PublishWithClient = () => {
    throw new Error('the commit gate is not attached to a broker');
  };

  constructor(
    private readonly isIngest: (client: Client) => boolean,
    private readonly log: Logger,
  ) {}

  /** Takes its place in `aedes` (once, before any client connects). */
  attach(aedes: Aedes): void {
    const publish = (aedes.publish as unknown as PublishWithClient).bind(aedes);
    this.publish = publish;
    const wrapped: PublishWithClient = (packet, client, done) => {
      if (this.handedOn.has(packet)) {
        this.handedOn.delete(packet);
        done(null);
        return;
      }
      publish(packet, client, done);
    };
    (aedes as unknown as { publish: PublishWithClient }).publish = wrapped;
    aedes.on('subscribe', (subs, client) => this.onSubscribe(subs, client));
    aedes.on('unsubscribe', (topics, client) => this.onUnsubscribe(topics, client));
    aedes.on('ack', (packet, client) => this.onAck(packet as DeliveredPacket, client));
  }

  /** Messages handed to ingest and not yet committed. */
  get pending(): number {
    return this.waiting.size;
  }

  /**
   * Called from `authorizePublish` once the publish is allowed: answers at once, or
   * once ingest has committed the message.
   */
  pass(client: Client | null, packet: PublishPacket, done: Done): void {
    if (this.closed) return done(new Error('the embedded broker is stopping'));
    if (!this.subscribed && client !== null && !this.isIngest(client)) {
      this.early.push(() => this.pass(client, packet, done));
      return;
    }
    if (packet.qos === 0 || !this.ingested(packet.topic)) return done(null);
    this.handOn(client, packet, done);
  }

  /**
   * Why a QoS 1 publish cannot reach ingest, or undefined. Aedes hands a message whose
   * device level is empty (`heru/sensors/`) to ingest's `+` filter, but its session
   * store never queued it, so ingest's PUBACK fails with "no such packet" and Aedes
   * drops ingest's connection while the device waits for ever. No device id is empty.
   */
  refusal(packet: PublishPacket): string | undefined {
    if (packet.qos === 0) return undefined;
    for (const [filter, qos] of this.filters) {
      if (qos > 0 && matchesEmptyLevel(filter, packet.topic)) {
        return `topic level for ${filter} is empty`;
      }
    }
    return undefined;
  }

  /** Refuses what still waits; Aedes then closes those connections without PUBACK. */
  close(): void {
    this.closed = true;
    const refused = new Error('the embedded broker is stopping');
    for (const done of this.waiting.values()) done(refused);
    this.waiting.clear();
    for (const retry of this.early.splice(0)) retry();
  }

  private handOn(client: Client | null, packet: PublishPacket, done: Done): void {
    this.counter += 1;
    const counter = this.counter;
    const copy: PublishPacket & DeliveredPacket = {
      cmd: 'publish',
      topic: packet.topic,
      payload: packet.payload,
      qos: packet.qos,
      retain: packet.retain,
      dup: false,
      brokerId: this.id,
      brokerCounter: counter,
    };
    this.waiting.set(counter, done);
    this.handedOn.add(packet);
    this.publish(copy, client, (err) => {
      if (!err) return;
      this.waiting.delete(counter);
      this.handedOn.delete(packet);
      done(err);
    });
  }

  /** True when ingest subscribes to `topic` at QoS 1 or 2. */
  private ingested(topic: string): boolean {
    for (const [filter, qos] of this.filters) {
      if (qos > 0 && topicMatches(filter, topic)) return true;
    }
    return false;
  }

  private onSubscribe(subs: Subscription[], client: Client): void {
    if (!this.isIngest(client)) return;
    for (const s of subs) this.filters.set(s.topic, s.qos);
    if (this.subscribed) return;
    this.subscribed = true;
    this.log.debug({ waited: this.early.length }, 'embedded broker: ingest subscribed');
    for (const retry of this.early.splice(0)) retry();
  }

  private onUnsubscribe(topics: string[], client: Client): void {
    // Aedes unsubscribes a client's filters when its connection closes; a persistent
    // session keeps them (and its queue), so only an explicit UNSUBSCRIBE counts.
    if (!this.isIngest(client) || client.closed) return;
    for (const t of topics) this.filters.delete(t);
  }

  private onAck(packet: DeliveredPacket | undefined, client: Client): void {
    if (!this.isIngest(client) || packet?.brokerId !== this.id) return;
    const done = this.waiting.get(packet.brokerCounter ?? -1);
    if (!done) return;
    this.waiting.delete(packet.brokerCounter!);
    done(null);
  }
}
