/**
 * One SMTP connection (RFC 5321): writes command lines and reads replies, including
 * multi-line ones ("250-…" until "250 …"). The socket can be swapped for its TLS
 * upgrade after STARTTLS (RFC 3207); nothing read before the upgrade is kept, since
 * a server must not send anything between its 220 and the TLS handshake.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** One SMTP reply: its three-digit code and its text lines. */
export interface Reply {
  code: number;
  lines: string[];
}

/** A reply that was not the one expected; 4xx is temporary, 5xx permanent. */
export class SmtpError extends Error {
  override readonly name = 'SmtpError';

  constructor(
    message: string,
    readonly code: number | undefined,
  ) {
    super(message);
  }

  /** True for a 5xx reply: retrying the same message will not help. */
  get permanent(): boolean {
    return this.code !== undefined && this.code >= 500;
  }
}

/** Longest reply accepted, in bytes; a server sending more is not speaking SMTP. */
const MAX_REPLY_BYTES = 64 * 1024;

export class SmtpConnection {
  private socket: Socket | TLSSocket;
  private buffer = '';
  private lines: string[] = [];
  private readonly replies: Reply[] = [];
  private waiter: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onError = (err: Error): void => this.fail(err);
  private readonly onClose = (): void =>
    this.fail(new Error('the SMTP server closed the connection'));

  constructor(socket: Socket | TLSSocket) {
    this.socket = socket;
    this.attach(socket);
  }

  /** Stops reading from the current socket and hands it over (for the TLS upgrade). */
  detach(): Socket | TLSSocket {
    this.socket.off('data', this.onData);
    this.socket.off('error', this.onError);
    this.socket.off('close', this.onClose);
    this.buffer = '';
    return this.socket;
  }

  attach(socket: Socket | TLSSocket): void {
    this.socket = socket;
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** The next reply, in order. */
  read(): Promise<Reply> {
    const next = this.replies.shift();
    if (next) return Promise.resolve(next);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Sends one command and reads its reply; throws SmtpError unless the code is expected. */
  async command(line: string, expected: number[], shown = line): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.expect(expected, shown);
  }

  /** Reads a reply and checks its code. */
  async expect(expected: number[], what: string): Promise<Reply> {
    const reply = await this.read();
    if (!expected.includes(reply.code)) {
      throw new SmtpError(
        `SMTP server answered ${reply.code} to ${what}: ${reply.lines.join(' ')}`,
        reply.code,
      );
    }
    return reply;
  }

  write(data: string): void {
    this.socket.write(data);
  }

  destroy(err?: Error): void {
    this.socket.destroy(err);
  }

  private receive(chunk: Buffer): void {
    this.buffer += chunk.toString('utf8');
    if (this.buffer.length > MAX_REPLY_BYTES) {
      this.fail(new Error('the SMTP server sent a reply longer than 64 KiB'));
      this.socket.destroy();
      return;
    }
    let end: number;
    while ((end = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, end).replace(/\r$/, '');
      this.buffer = this.buffer.slice(end + 1);
      this.lines.push(line.slice(4));
      if (line[3] === '-') continue;
      const code = Number(line.slice(0, 3));
      this.push({ code: Number.isInteger(code) ? code : 0, lines: this.lines });
      this.lines = [];
    }
  }

  private push(reply: Reply): void {
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w.resolve(reply);
    else this.replies.push(reply);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.failure);
  }
}
