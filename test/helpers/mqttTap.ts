/**
 * A loopback forwarder between an MQTT client and its broker that reads the packets
 * going through (their fixed header only: type, DUP, QoS, RETAIN) and counts them,
 * so a test can see what the broker and the client really said to each other: how
 * many PUBACKs ingest sent, how many messages came again with DUP set, which were
 * retained copies. It can also lose PUBACKs on the way, as a flaky link does, and cut
 * every connection, as a network failure does; the client's reconnects come through
 * it again.
 */
import net from 'node:net';

/** What went one way through the tap. */
export interface TapCounts {
  /** PUBLISH packets forwarded, and among them those with DUP or RETAIN set. */
  publishes: number;
  dupPublishes: number;
  retainedPublishes: number;
  /** PUBACK packets forwarded, and those lost on purpose. */
  pubacks: number;
  pubacksDropped: number;
}

/** `up`: client to broker; `down`: broker to client. */
export type Direction = 'up' | 'down';

const PUBLISH = 3;
const PUBACK = 4;

const zero = (): TapCounts => ({
  publishes: 0,
  dupPublishes: 0,
  retainedPublishes: 0,
  pubacks: 0,
  pubacksDropped: 0,
});

export class MqttTap {
  readonly counts: Record<Direction, TapCounts> = { up: zero(), down: zero() };
  /** Connections made through the tap so far. */
  connections = 0;
  private readonly dropping: Record<Direction, boolean> = { up: false, down: false };
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  /** Listens on a free loopback port and forwards each connection to `brokerPort`. */
  static async start(brokerPort: number): Promise<MqttTap> {
    const box: { tap?: MqttTap } = {};
    const server = net.createServer((client) => box.tap!.accept(client, brokerPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    box.tap = new MqttTap(server, (server.address() as net.AddressInfo).port);
    return box.tap;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** While on, PUBACKs going `direction` are counted and not forwarded. */
  dropPubacks(direction: Direction, on: boolean): void {
    this.dropping[direction] = on;
  }

  /** Ends every connection through the tap at once; new ones are still taken. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket, brokerPort: number): void {
    this.connections += 1;
    const broker = net.connect({ host: '127.0.0.1', port: brokerPort });
    for (const s of [client, broker]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
      s.on('close', () => {
        client.destroy();
        broker.destroy();
      });
    }
    this.forward(client, broker, 'up');
    this.forward(broker, client, 'down');
  }

  /** Splits the stream into MQTT packets and forwards each, or drops a PUBACK. */
  private forward(from: net.Socket, to: net.Socket, direction: Direction): void {
    let pending: Buffer = Buffer.alloc(0);
    from.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const out: Buffer[] = [];
      for (;;) {
        const size = packetSize(pending);
        if (size === null) {
          // Not MQTT: end the link as a broker would.
          from.destroy();
          return;
        }
        if (size === undefined || pending.length < size) break;
        const packet = pending.subarray(0, size);
        pending = pending.subarray(size);
        if (this.note(packet[0]!, direction)) out.push(packet);
      }
      if (out.length === 0 || to.destroyed) return;
      // Backpressure passes through: a client that stops reading stops the broker.
      if (!to.write(Buffer.concat(out))) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
  }

  /** Counts one packet by its first byte; false when it is to be lost. */
  private note(first: number, direction: Direction): boolean {
    const c = this.counts[direction];
    const type = first >> 4;
    if (type === PUBLISH) {
      c.publishes += 1;
      if (first & 0x08) c.dupPublishes += 1;
      if (first & 0x01) c.retainedPublishes += 1;
    } else if (type === PUBACK) {
      if (this.dropping[direction]) {
        c.pubacksDropped += 1;
        return false;
      }
      c.pubacks += 1;
    }
    return true;
  }
}

/**
 * Bytes of the packet at the start of `buf` (fixed header and remaining length, a
 * variable byte integer of 1 to 4 bytes: MQTT 3.1.1 §2.2.3, MQTT 5 §1.5.5),
 * undefined while its header is incomplete, null when the length is malformed.
 */
function packetSize(buf: Buffer): number | undefined | null {
  let length = 0;
  for (let i = 1; i <= 4; i += 1) {
    if (i >= buf.length) return undefined;
    const b = buf[i]!;
    length += (b & 0x7f) * 128 ** (i - 1);
    if ((b & 0x80) === 0) return 1 + i + length;
  }
  return null;
}
