/**
 * A minimal SMTP server on 127.0.0.1 (RFC 5321) for tests: EHLO, STARTTLS (RFC 3207)
 * when given a certificate, AUTH PLAIN and LOGIN (RFC 4954) when given credentials,
 * MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT. Scripted failures answer
 * a chosen command with a chosen code.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The message as received, dot-unstuffed, CRLF line ends. */
  data: string;
  /** Whether the session was encrypted when the message arrived. */
  secure: boolean;
  user: string | null;
}

export interface SmtpServerOptions {
  /** PEM key and certificate: offers STARTTLS. */
  tls?: { key: string; cert: string };
  /** Required credentials: offers AUTH and refuses MAIL before it. */
  auth?: { user: string; pass: string };
}

export interface MockSmtpServer {
  port: number;
  received: ReceivedMail[];
  /** The next `n` times `command` (MAIL, RCPT, DATA = after the data) is answered with `reply`. */
  failNext(command: 'MAIL' | 'RCPT' | 'DATA', n: number, reply: string): void;
  close(): Promise<void>;
}

export async function startSmtpServer(
  opts: SmtpServerOptions = {},
): Promise<MockSmtpServer> {
  const received: ReceivedMail[] = [];
  const failures = new Map<string, { n: number; reply: string }>();
  const sockets = new Set<net.Socket>();

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    new Session(socket, opts, received, failures).start();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;

  return {
    port,
    received,
    failNext(command, n, reply) {
      failures.set(command, { n, reply });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

class Session {
  private socket: net.Socket;
  private buffer = '';
  private secure = false;
  private user: string | null = null;
  private from: string | null = null;
  private to: string[] = [];
  private data: string[] | null = null;
  private pendingLogin: 'user' | 'pass' | null = null;
  private loginUser = '';

  constructor(
    socket: net.Socket,
    private readonly opts: SmtpServerOptions,
    private readonly received: ReceivedMail[],
    private readonly failures: Map<string, { n: number; reply: string }>,
  ) {
    this.socket = socket;
  }

  start(): void {
    this.listen(this.socket);
    this.reply('220 mock.smtp.test ESMTP ready');
  }

  private listen(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
  }

  private reply(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  private onData(chunk: Buffer): void {
    this.buffer += chunk.toString('utf8');
    let end: number;
    while ((end = this.buffer.indexOf('\r\n')) >= 0) {
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      if (this.data) this.onDataLine(line);
      else if (this.handle(line)) return;
    }
  }

  private onDataLine(line: string): void {
    if (line !== '.') {
      this.data!.push(line.startsWith('.') ? line.slice(1) : line);
      return;
    }
    const data = this.data!.join('\r\n');
    this.data = null;
    if (this.failed('DATA')) return;
    this.received.push({
      from: this.from!,
      to: this.to,
      data,
      secure: this.secure,
      user: this.user,
    });
    this.from = null;
    this.to = [];
    this.reply(`250 2.0.0 Ok: queued as Q${this.received.length}`);
  }

  private failed(command: string): boolean {
    const f = this.failures.get(command);
    if (!f || f.n <= 0) return false;
    f.n -= 1;
    this.reply(f.reply);
    return true;
  }

  /** Answers one command line; true when the session switched to TLS. */
  private handle(line: string): boolean {
    if (this.pendingLogin) {
      this.login(line);
      return false;
    }
    const [verb = '', ...rest] = line.split(' ');
    const arg = rest.join(' ');
    const upper = verb.toUpperCase();
    if (upper === 'STARTTLS') return this.starttls();
    if (upper === 'EHLO') this.ehlo(arg);
    else if (upper === 'AUTH') this.auth(arg);
    else if (upper === 'MAIL') this.mail(arg);
    else if (upper === 'RCPT') this.rcpt(arg);
    else if (upper === 'DATA') this.startData();
    else if (upper === 'RSET' || upper === 'NOOP') this.reset(upper === 'RSET');
    else if (upper === 'QUIT') {
      this.reply('221 2.0.0 Bye');
      this.socket.end();
    } else this.reply('502 5.5.2 Command not recognised');
    return false;
  }

  private mail(arg: string): void {
    if (this.opts.auth && !this.user)
      return this.reply('530 5.7.0 Authentication required');
    if (this.failed('MAIL')) return;
    this.from = /^FROM:<([^>]*)>/i.exec(arg)?.[1] ?? '';
    this.reply('250 2.1.0 Ok');
  }

  private rcpt(arg: string): void {
    if (this.from === null) return this.reply('503 5.5.1 MAIL first');
    if (this.failed('RCPT')) return;
    this.to.push(/^TO:<([^>]*)>/i.exec(arg)?.[1] ?? '');
    this.reply('250 2.1.5 Ok');
  }

  private startData(): void {
    if (this.to.length === 0) return this.reply('503 5.5.1 RCPT first');
    this.data = [];
    this.reply('354 End data with <CR><LF>.<CR><LF>');
  }

  private reset(clear: boolean): void {
    if (clear) {
      this.from = null;
      this.to = [];
    }
    this.reply('250 2.0.0 Ok');
  }

  private ehlo(name: string): void {
    if (!name) return this.reply('501 5.5.4 EHLO needs a name');
    const ext = ['8BITMIME', 'SIZE 10485760'];
    if (this.opts.tls && !this.secure) ext.push('STARTTLS');
    if (this.opts.auth) ext.push('AUTH PLAIN LOGIN');
    const lines = [`mock.smtp.test greets ${name}`, ...ext];
    lines.forEach((l, i) => this.reply(`250${i === lines.length - 1 ? ' ' : '-'}${l}`));
  }

  private starttls(): boolean {
    if (!this.opts.tls || this.secure) {
      this.reply('502 5.5.1 STARTTLS not offered');
      return false;
    }
    this.reply('220 2.0.0 Ready to start TLS');
    const plain = this.socket;
    plain.removeAllListeners('data');
    const secure = new tls.TLSSocket(plain, { isServer: true, ...this.opts.tls });
    this.socket = secure;
    this.secure = true;
    this.buffer = '';
    // RFC 3207 section 4.2: the session starts over; what was said before is forgotten.
    this.user = null;
    this.from = null;
    this.to = [];
    this.listen(secure);
    return true;
  }

  private auth(arg: string): void {
    const [mech = '', initial] = arg.split(' ');
    if (!this.opts.auth) return this.reply('502 5.5.1 AUTH not offered');
    if (mech.toUpperCase() === 'PLAIN' && initial) {
      const [, user, pass] = Buffer.from(initial, 'base64').toString().split('\0');
      return this.check(user ?? '', pass ?? '');
    }
    if (mech.toUpperCase() === 'LOGIN') {
      this.pendingLogin = 'user';
      return this.reply(`334 ${Buffer.from('Username:').toString('base64')}`);
    }
    return this.reply('504 5.5.4 Unrecognised authentication type');
  }

  private login(line: string): void {
    const value = Buffer.from(line, 'base64').toString();
    if (this.pendingLogin === 'user') {
      this.loginUser = value;
      this.pendingLogin = 'pass';
      return this.reply(`334 ${Buffer.from('Password:').toString('base64')}`);
    }
    this.pendingLogin = null;
    return this.check(this.loginUser, value);
  }

  private check(user: string, pass: string): void {
    if (user === this.opts.auth?.user && pass === this.opts.auth.pass) {
      this.user = user;
      this.reply('235 2.7.0 Authentication successful');
    } else {
      this.reply('535 5.7.8 Authentication credentials invalid');
    }
  }
}
