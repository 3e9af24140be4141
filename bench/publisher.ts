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

/** A QoS 1 PUBLISH packet, written by hand: it is the hot loop of the publishers. */
function publishPacket(topic: Buffer, messageId: number, payload: Buffer): Buffer {
  let remaining = 2 + topic.length + 2 + payload.length;
  const length: number[] = [];
  do {
    let byte = remaining % 128;
    remaining = Math.floor(remaining / 128);
    if (remaining > 0) byte |= 0x80;
    length.push(byte);
  } while (remaining > 0);
  const size = 2 + topic.length + 2 + payload.length;
  const buf = Buffer.allocUnsafe(1 + length.length + size);
  let at = 0;
  buf[at++] = 0x32;
  for (const b of length) buf[at++] = b;
  at = buf.writeUInt16BE(topic.length, at);
  at += topic.copy(buf, at);
  at = buf.writeUInt16BE(messageId, at);
  payload.copy(buf, at);
  return buf;
}

class Connection {
  private next: number;
  private inflight = 0;
  private messageId = 0;
  private socket: net.Socket | undefined;
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
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: mqttPacket.Packet) => this.onPacket(p));
    parser.on('error', (err: Error) => fail(`publisher parse error: ${err.message}`));
    socket.on('data', (b: Buffer) => parser.parse(b));
    socket.on('error', (err) => fail(`publisher socket: ${err.message}`));
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
    if (!s) return;
    const out: Buffer[] = [];
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
      out.push(publishPacket(this.topics[device]!, this.messageId, payload));
    }
    if (out.length > 0) s.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  close(): void {
    this.socket?.end(mqttPacket.generate({ cmd: 'disconnect' }));
  }

  private onPacket(p: mqttPacket.Packet): void {
    if (p.cmd === 'connack') {
      if (p.returnCode !== 0) fail(`broker refused a publisher: ${p.returnCode}`);
      else this.pump();
    } else if (p.cmd === 'puback') {
      this.inflight -= 1;
      this.acked += 1;
      if (this.acked === this.total) this.onDone();
      // Refill in chunks rather than one packet per acknowledgement.
      else if (this.inflight <= this.job.window / 2) this.pump();
    }
  }
}

function fail(reason: string): never {
  report({ kind: 'failed', reason });
  process.exit(1);
}

function run(job: PublisherJob): void {
  const started = Date.now();
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
        const cpu = process.cpuUsage();
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

/** Adds each connection's share of the rate every tick, and pumps. */
function startRateLimit(job: PublisherJob, conns: Connection[]): void {
  const perTick = (job.rate / job.connections) * (TICK_MS / 1000);
  for (const c of conns) c.allowance = perTick;
  setInterval(() => {
    for (const c of conns) {
      c.allowance = Math.min(c.allowance + perTick, perTick * 10);
      c.pump();
    }
  }, TICK_MS).unref();
}

const arg = process.argv[2];
if (arg === undefined) fail('usage: publisher.ts <job as JSON>');
run(JSON.parse(arg) as PublisherJob);
