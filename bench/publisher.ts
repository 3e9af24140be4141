/**
 * The benchmark's publishers, run as a child process of bench/run.ts so that their
 * CPU and memory are not the ingest's. Several MQTT 3.1.1 connections publish QoS 1
 * messages with a bounded window of unacknowledged messages each, optionally at a
 * fixed total rate, until the given count is acknowledged by the broker or the
 * deadline passes. Progress goes to the parent over IPC.
 *
 * Message `i` (0-based) belongs to device `i % devices` and carries sequence numbers
 * from `floor(i / devices) * perMessage`; connection `c` sends the messages with
 * `i % connections === c`, in order.
 */
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { benchDeviceId, payloadOf, readingsTopic } from './readingPayload.js';

/** What the parent asks of the publishers (passed as JSON in argv[2]). */
export interface PublisherJob {
  port: number;
  clientPrefix: string;
  connections: number;
  /** Unacknowledged QoS 1 messages per connection. */
  window: number;
  devices: number;
  messages: number;
  perMessage: number;
  /** Boot counter in every reading; each phase uses its own so keys never collide. */
  boot: number;
  /** Messages per second over all connections; 0 for as fast as the broker takes them. */
  rate: number;
  /** Milliseconds after which the publishers give up. */
  deadlineMs: number;
}

/** Messages the parent receives. */
export type PublisherReport =
  | { kind: 'progress'; acked: number }
  | { kind: 'done'; acked: number; seconds: number; cpuSeconds: number }
  | { kind: 'failed'; reason: string };

const PROGRESS_EVERY_MS = 250;
const TICK_MS = 10;

function report(r: PublisherReport): void {
  process.send?.(r);
}

/**
 * QoS 1 PUBLISH packets written by hand, back to back into one buffer: the hot loop
 * of the publishers, kept cheap so that the machine's CPU goes to what is measured.
 */
class PacketWriter {
  private buf = Buffer.allocUnsafe(1 << 20);
  private at = 0;

  publish(topic: Buffer, messageId: number, payload: string): void {
    const remaining = 2 + topic.length + 2 + payload.length; // the payload is ASCII
    this.reserve(5 + remaining);
    const b = this.buf;
    b[this.at++] = 0x32;
    for (let n = remaining; ;) {
      const byte = n % 128;
      n = Math.floor(n / 128);
      b[this.at++] = n > 0 ? byte | 0x80 : byte;
      if (n === 0) break;
    }
    this.at = b.writeUInt16BE(topic.length, this.at);
    this.at += topic.copy(b, this.at);
    this.at = b.writeUInt16BE(messageId, this.at);
    this.at += b.write(payload, this.at, 'latin1');
  }

  /** What was written since the last take, as a buffer of its own. */
  take(): Buffer | undefined {
    if (this.at === 0) return undefined;
    const out = Buffer.from(this.buf.subarray(0, this.at));
    this.at = 0;
    return out;
  }

  private reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }
}

const PUBACK = 0x40;

class Connection {
  private next: number;
  private inflight = 0;
  private messageId = 0;
  private socket: net.Socket | undefined;
  private readonly writer = new PacketWriter();
  /** Bytes of a PUBACK cut off at the end of the last read. */
  private partial = 0;
  /**
   * Set at the CONNACK. Nothing is published before it: PUBACKs that came in the same
   * read as the CONNACK would go to the packet parser and never be counted.
   */
  private connected = false;
  /** Per device, the earliest time its next reading may carry (ms since 1970). */
  private readonly nextTime: number[];
  /** Messages this connection may still send under the rate limit. */
  allowance = Infinity;
  acked = 0;
  readonly total: number;

  constructor(
    private readonly job: PublisherJob,
    private readonly index: number,
    private readonly topics: readonly Buffer[],
    private readonly onDone: () => void,
  ) {
    this.next = index;
    this.total = Math.ceil((job.messages - index) / job.connections);
    this.nextTime = new Array<number>(job.devices).fill(0);
  }

  open(): void {
    const socket = net.connect({ host: '127.0.0.1', port: this.job.port });
    this.socket = socket;
    socket.setNoDelay(true);
    // The CONNACK through the packet parser; after it the broker sends us PUBACKs
    // only (4 bytes each), counted by hand.
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: mqttPacket.Packet) => {
      if (p.cmd !== 'connack') return;
      if (p.returnCode !== 0) fail(`broker refused a publisher: ${p.returnCode}`);
      this.connected = true;
      this.pump();
    });
    parser.on('error', (err: Error) => fail(`publisher parse error: ${err.message}`));
    socket.on('data', (b: Buffer) =>
      this.connected ? this.onPubacks(b) : parser.parse(b),
    );
    socket.on('error', (err) => fail(`publisher socket: ${err.message}`));
    socket.on('close', () => {
      if (this.acked < this.total) fail('the broker closed a publisher connection');
    });
    socket.once('connect', () => {
      const clientId = `${this.job.clientPrefix}-${this.index}`;
      socket.write(
        mqttPacket.generate({ cmd: 'connect', clientId, clean: true, keepalive: 60 }),
      );
    });
  }

  /** Sends what the window and the rate allow, in one write. */
  pump(): void {
    const s = this.socket;
    if (!s || !this.connected) return;
    const { devices, perMessage, messages, connections, window } = this.job;
    const now = Date.now();
    while (this.inflight < window && this.next < messages && this.allowance >= 1) {
      const i = this.next;
      this.next += connections;
      this.inflight += 1;
      this.allowance -= 1;
      this.messageId = (this.messageId % 65535) + 1;
      const device = i % devices;
      const seq = Math.floor(i / devices) * perMessage;
      const time = Math.max(now, this.nextTime[device]!);
      this.nextTime[device] = time + perMessage;
      const payload = payloadOf(this.job.boot, seq, perMessage, time);
      this.writer.publish(this.topics[device]!, this.messageId, payload);
    }
    const out = this.writer.take();
    if (out) s.write(out);
  }

  close(): void {
    this.socket?.end(mqttPacket.generate({ cmd: 'disconnect' }));
  }

  private onPubacks(b: Buffer): void {
    let at = 0;
    let n = 0;
    if (this.partial > 0) {
      const rest = 4 - this.partial;
      if (b.length < rest) {
        this.partial += b.length;
        return;
      }
      at = rest;
      n = 1;
    }
    for (; at + 4 <= b.length; at += 4) {
      if (b[at] !== PUBACK)
        fail(`publisher expected a PUBACK, got packet type 0x${b[at]!.toString(16)}`);
      n += 1;
    }
    this.partial = b.length - at;
    if (this.partial > 0 && b[at] !== PUBACK) fail('publisher expected a PUBACK');
    this.acked += n;
    this.inflight -= n;
    if (this.acked === this.total) this.onDone();
    // Refill in chunks rather than one packet per acknowledgement.
    else if (this.inflight <= this.job.window / 2) this.pump();
  }
}

function fail(reason: string): never {
  report({ kind: 'failed', reason });
  process.exit(1);
}

function run(job: PublisherJob): void {
  const started = Date.now();
  // CPU from here on: loading the script is not publishing.
  const cpu0 = process.cpuUsage();
  const topics = Array.from({ length: job.devices }, (_, n) =>
    Buffer.from(readingsTopic(benchDeviceId(n))),
  );
  let open = job.connections;
  const acked = (): number => conns.reduce((a, c) => a + c.acked, 0);
  const conns = Array.from(
    { length: job.connections },
    (_, c) =>
      new Connection(job, c, topics, () => {
        open -= 1;
        if (open > 0) return;
        for (const x of conns) x.close();
        const cpu = process.cpuUsage(cpu0);
        report({
          kind: 'done',
          acked: acked(),
          seconds: (Date.now() - started) / 1000,
          cpuSeconds: (cpu.user + cpu.system) / 1e6,
        });
        setTimeout(() => process.exit(0), 200);
      }),
  );
  const progress = setInterval(
    () => report({ kind: 'progress', acked: acked() }),
    PROGRESS_EVERY_MS,
  );
  progress.unref();
  setTimeout(() => fail(`not done within ${job.deadlineMs} ms`), job.deadlineMs).unref();
  if (job.rate > 0) startRateLimit(job, conns);
  for (const c of conns) c.open();
}

/**
 * Adds each connection's share of the rate for the time since the last tick, and
 * pumps. By the clock, not by the tick: timers fire late, and a fixed share a tick
 * fell 5 % short of the rate.
 */
function startRateLimit(job: PublisherJob, conns: Connection[]): void {
  const perMs = job.rate / job.connections / 1000;
  const perTick = perMs * TICK_MS;
  for (const c of conns) c.allowance = perTick;
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    const share = perMs * (now - last);
    last = now;
    for (const c of conns) {
      c.allowance = Math.min(c.allowance + share, perTick * 10);
      c.pump();
    }
  }, TICK_MS).unref();
}

const arg = process.argv[2];
if (arg === undefined) fail('usage: publisher.ts <job as JSON>');
run(JSON.parse(arg) as PublisherJob);
