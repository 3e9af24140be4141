/**
 * PGlite served over the PostgreSQL wire protocol on a loopback port, so that the
 * embedded database is reached through the same `pg` Pool and SQL as a real server.
 *
 * PGlite is one backend: one session runs one statement at a time. Several pool
 * connections share it through a gate. A connection takes the gate with its first
 * message and keeps it until the backend is idle again after a Sync or a simple
 * Query, that is until its statement (or its whole transaction) is over. Others
 * wait their turn, so no two connections' statements or transactions interleave.
 * A transaction that waits for a second connection would wait for ever: the gate
 * logs such a wait after GATE_WARN_MS.
 *
 * Prepared statements: the backend has one namespace for them, while every pool
 * connection names its own (`pg` prepares a named query once per connection). The
 * names in Parse, Bind, Describe and Close are therefore prefixed with the
 * connection's number, and a closed connection's statements are deallocated.
 *
 * NOTIFY: the backend delivers notifications in the output of the statement that
 * committed them. They are copied to every other connection between its own
 * statements, as a real server sends them to listeners (pg clients ignore them on
 * connections that do not listen).
 */
import net from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import type { Logger } from '../log.js';

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const GATE_WARN_MS = 10_000;

/** One client connection: its unread bytes and whether its startup is done. */
interface Conn {
  id: number;
  socket: net.Socket;
  buffer: Buffer;
  started: boolean;
  busy: Promise<void>;
  /** Backend names of the statements this connection prepared. */
  statements: Set<string>;
}

/** A FIFO lock held by one connection at a time. */
class Gate {
  private owner: Conn | null = null;
  private readonly waiting: Array<{ conn: Conn; go: () => void }> = [];

  async acquire(conn: Conn, log: Logger): Promise<void> {
    if (this.owner === conn) return;
    if (this.owner === null) {
      this.owner = conn;
      return;
    }
    const warn = setTimeout(
      () => log.warn({ conn: conn.id }, 'embedded postgres: a connection waits long'),
      GATE_WARN_MS,
    );
    await new Promise<void>((go) => this.waiting.push({ conn, go }));
    clearTimeout(warn);
  }

  holds(conn: Conn): boolean {
    return this.owner === conn;
  }

  release(conn: Conn): void {
    if (this.owner !== conn) return;
    const next = this.waiting.shift();
    this.owner = next ? next.conn : null;
    next?.go();
  }

  /** Drops a closed connection from the queue. */
  forget(conn: Conn): void {
    const i = this.waiting.findIndex((w) => w.conn === conn);
    if (i >= 0) this.waiting.splice(i, 1);
  }
}

/** The wire-protocol server in front of one PGlite database. */
export class PgliteWireServer {
  private readonly server: net.Server;
  private readonly conns = new Set<Conn>();
  private readonly gate = new Gate();
  private nextId = 1;

  constructor(
    private readonly db: PGlite,
    private readonly log: Logger,
  ) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /** Listens on 127.0.0.1; port 0 (default) picks a free one. Returns the port. */
  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    const conn: Conn = {
      id: this.nextId++,
      socket,
      buffer: Buffer.alloc(0),
      started: false,
      busy: Promise.resolve(),
      statements: new Set(),
    };
    this.conns.add(conn);
    socket.on('data', (chunk: Buffer) => {
      conn.buffer = Buffer.concat([conn.buffer, chunk]);
      for (let m = this.nextMessage(conn); m; m = this.nextMessage(conn)) {
        const message = m;
        conn.busy = conn.busy.then(() => this.handle(conn, message));
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.conns.delete(conn);
      this.gate.forget(conn);
      conn.busy = conn.busy.then(() => this.abandon(conn));
    });
  }

  /** Cuts the next whole message off the connection's buffer, if there is one. */
  private nextMessage(conn: Conn): Buffer | undefined {
    const b = conn.buffer;
    const headerless = !conn.started;
    const need = headerless ? 4 : 5;
    if (b.length < need) return undefined;
    const size = headerless ? b.readInt32BE(0) : 1 + b.readInt32BE(1);
    if (b.length < size) return undefined;
    conn.buffer = b.subarray(size);
    return b.subarray(0, size);
  }

  private async handle(conn: Conn, message: Buffer): Promise<void> {
    if (conn.socket.destroyed) return;
    if (!conn.started) {
      const code = message.length >= 8 ? message.readInt32BE(4) : 0;
      if (code === SSL_REQUEST || code === GSS_REQUEST) {
        conn.socket.write('N');
        return;
      }
      if (code === CANCEL_REQUEST) {
        conn.socket.end();
        return;
      }
      conn.started = true;
    }
    const type = conn.started ? message[0] : 0;
    if (type === 0x58 /* X: Terminate */) {
      conn.socket.end();
      return;
    }
    await this.gate.acquire(conn, this.log);
    try {
      const out = await this.exec(type === 0 ? message : renameStatement(conn, message));
      if (!conn.socket.destroyed) conn.socket.write(out);
      this.broadcastNotifications(conn, out);
    } finally {
      const boundary = type === 0 || type === 0x53 /* S */ || type === 0x51; /* Q */
      if (boundary && !this.db.isInTransaction()) this.gate.release(conn);
    }
  }

  private async exec(message: Buffer): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    await this.db.runExclusive(() =>
      this.db.execProtocolRawStream(new Uint8Array(message), {
        onRawData: (data) => chunks.push(data.slice()),
      }),
    );
    return Buffer.concat(chunks);
  }

  /** Sends the NotificationResponse messages of `out` to every other connection. */
  private broadcastNotifications(from: Conn, out: Buffer): void {
    const found: Buffer[] = [];
    for (let at = 0; at + 5 <= out.length;) {
      const size = 1 + out.readInt32BE(at + 1);
      if (out[at] === 0x41 /* A */) found.push(out.subarray(at, at + size));
      at += size;
    }
    if (found.length === 0) return;
    const all = Buffer.concat(found);
    for (const c of this.conns) {
      if (c !== from && c.started && !c.socket.destroyed) c.socket.write(all);
    }
  }

  /** A connection that went away: roll back its transaction, drop its statements. */
  private async abandon(conn: Conn): Promise<void> {
    const holding = this.gate.holds(conn);
    if (!holding && conn.statements.size === 0) return;
    await this.gate.acquire(conn, this.log);
    try {
      if (holding && this.db.isInTransaction()) await this.db.exec('rollback');
      for (const name of conn.statements) {
        // A Parse the backend refused left no statement: nothing to drop.
        await this.db
          .exec(`deallocate "${name.replaceAll('"', '""')}"`)
          .catch(() => undefined);
      }
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        'embedded postgres: rollback failed',
      );
    } finally {
      this.gate.release(conn);
    }
  }
}

/**
 * The message with the statement name it carries made the connection's own: Parse
 * (P), Bind (B), and Describe (D) or Close (C) of a statement. The unnamed statement
 * is left alone: the gate keeps it to one connection from Parse to Sync.
 */
function renameStatement(conn: Conn, message: Buffer): Buffer {
  const type = message[0];
  let at = 5;
  if (type === 0x42 /* B */)
    at = message.indexOf(0, at) + 1; // after the portal name
  else if (type === 0x44 /* D */ || type === 0x43 /* C */) {
    if (message[at] !== 0x53 /* S */) return message;
    at += 1;
  } else if (type !== 0x50 /* P */) return message;
  const end = message.indexOf(0, at);
  if (end <= at) return message;
  const name = `${conn.id}:${message.toString('utf8', at, end)}`;
  if (type === 0x50) conn.statements.add(name);
  if (type === 0x43) conn.statements.delete(name);
  const renamed = Buffer.concat([
    message.subarray(0, at),
    Buffer.from(name, 'utf8'),
    message.subarray(end),
  ]);
  renamed.writeInt32BE(renamed.length - 1, 1);
  return renamed;
}
