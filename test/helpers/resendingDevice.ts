/**
 * A device's QoS 1 publisher on the MQTT packet layer (3.1.1, persistent session)
 * that does what the protocol asks of a client after a lost connection (MQTT 3.1.1
 * §4.4): it reconnects with the same client id and sends every PUBLISH not yet
 * acknowledged again, with the same packet id and DUP set. MQTT.js resends without
 * DUP, so a test of DUP handling needs this one.
 */
import net from 'node:net';
import mqttPacket from 'mqtt-packet';

interface Unacked {
  topic: string;
  payload: string;
}

export class ResendingDevice {
  private socket: net.Socket | undefined;
  private nextId = 1;
  private readonly unacked = new Map<number, Unacked>();
  private readonly waiters: Array<() => void> = [];

  private constructor(
    private readonly port: number,
    private readonly clientId: string,
  ) {}

  /** Connects to the broker (or a tap) on loopback `port`. */
  static async connect(port: number, clientId: string): Promise<ResendingDevice> {
    const device = new ResendingDevice(port, clientId);
    await device.open();
    return device;
  }

  /** PUBLISH packets sent and not acknowledged yet. */
  get pending(): number {
    return this.unacked.size;
  }

  /** Sends one QoS 1 message; its PUBACK is awaited with `allAcknowledged`. */
  publish(topic: string, payload: string): void {
    const messageId = this.nextId;
    this.nextId = (this.nextId % 0xffff) + 1;
    this.unacked.set(messageId, { topic, payload });
    this.send(messageId, false);
  }

  /** Connects again after a loss and resends everything unacknowledged with DUP. */
  async resume(): Promise<boolean> {
    const sessionPresent = await this.open();
    for (const id of this.unacked.keys()) this.send(id, true);
    return sessionPresent;
  }

  /** Resolves once every message sent has its PUBACK, or rejects after `ms`. */
  async allAcknowledged(ms: number): Promise<void> {
    if (this.unacked.size === 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.unacked.size} messages unacknowledged`)),
        ms,
      );
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.socket?.destroy();
  }

  private send(messageId: number, dup: boolean): void {
    const m = this.unacked.get(messageId)!;
    const packet = mqttPacket.generate({
      cmd: 'publish',
      topic: m.topic,
      payload: m.payload,
      qos: 1,
      dup,
      retain: false,
      messageId,
    });
    this.socket?.write(packet);
  }

  /** Opens a connection, clean session off; resolves with CONNACK's session present. */
  private open(): Promise<boolean> {
    this.socket?.destroy();
    const socket = net.connect({ host: '127.0.0.1', port: this.port });
    this.socket = socket;
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    socket.on('data', (buf: Buffer) => parser.parse(buf));
    socket.on('error', () => undefined);
    return new Promise((resolve, reject) => {
      socket.once('close', () => reject(new Error('closed before CONNACK')));
      parser.on('packet', (p: mqttPacket.Packet) => {
        if (p.cmd === 'connack') {
          if (p.returnCode) reject(new Error(`CONNACK refused: ${p.returnCode}`));
          else resolve(p.sessionPresent);
        } else if (p.cmd === 'puback' && p.messageId !== undefined) {
          this.unacked.delete(p.messageId);
          if (this.unacked.size === 0) for (const w of this.waiters.splice(0)) w();
        }
      });
      socket.once('connect', () => {
        socket.write(
          mqttPacket.generate({
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: 4,
            clientId: this.clientId,
            clean: false,
            keepalive: 60,
          }),
        );
      });
    });
  }
}
