/**
 * Sends one message over SMTP: greeting, EHLO, STARTTLS when asked for (RFC 3207),
 * AUTH PLAIN or LOGIN (RFC 4954), MAIL, RCPT, DATA with dot-stuffing, QUIT.
 * One connection per message: alarm mail is rare, and a fresh connection never
 * inherits a broken one's state.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { StartTls } from '../config.js';
import { SmtpConnection, SmtpError, type Reply } from './connection.js';

export { SmtpError };

export interface SmtpOptions {
  host: string;
  port: number;
  /** TLS from the first byte (`smtps://`, port 465). */
  implicitTls: boolean;
  starttls: StartTls;
  heloName: string;
  username?: string;
  password?: string;
  /** Extra CA certificates (PEM) to trust. */
  ca?: Buffer;
  /** Ends the conversation when aborted. */
  signal: AbortSignal;
}

export interface Envelope {
  from: string;
  to: string[];
}

/** Sends `data` (a complete RFC 5322 message, CRLF line ends); returns the server's final reply. */
export async function sendMail(
  opts: SmtpOptions,
  envelope: Envelope,
  data: string,
): Promise<Reply> {
  const conn = new SmtpConnection(await open(opts));
  const abort = (): void =>
    conn.destroy(new Error('the SMTP server did not answer in time'));
  opts.signal.addEventListener('abort', abort, { once: true });
  try {
    await conn.expect([220], 'the connection');
    let secure = opts.implicitTls;
    let ext = await ehlo(conn, opts.heloName);
    if (!secure && opts.starttls !== 'off') {
      if (ext.has('STARTTLS')) {
        await conn.command('STARTTLS', [220]);
        conn.attach(await upgrade(conn.detach(), opts));
        secure = true;
        ext = await ehlo(conn, opts.heloName);
      } else if (opts.starttls === 'required') {
        throw new SmtpError(
          'The SMTP server does not offer STARTTLS; fix the server, or set SMTP_STARTTLS=opportunistic to send without TLS.',
          undefined,
        );
      }
    }
    if (opts.username !== undefined && opts.password !== undefined) {
      if (!secure && opts.starttls !== 'off') {
        throw new SmtpError(
          'Refusing to send the SMTP password over an unencrypted connection; the server offered no TLS.',
          undefined,
        );
      }
      await authenticate(conn, ext, opts.username, opts.password);
    }
    await conn.command(`MAIL FROM:<${envelope.from}>`, [250]);
    for (const to of envelope.to) await conn.command(`RCPT TO:<${to}>`, [250, 251]);
    await conn.command('DATA', [354]);
    conn.write(`${dotStuff(data)}\r\n.\r\n`);
    const done = await conn.expect([250], 'the message');
    await conn.command('QUIT', [221]).catch(() => undefined);
    return done;
  } finally {
    opts.signal.removeEventListener('abort', abort);
    conn.destroy();
  }
}

async function open(opts: SmtpOptions): Promise<net.Socket> {
  const socket = opts.implicitTls
    ? tls.connect({ host: opts.host, port: opts.port, ...tlsOptions(opts) })
    : net.connect({ host: opts.host, port: opts.port });
  const ready = opts.implicitTls ? 'secureConnect' : 'connect';
  return new Promise((resolve, reject) => {
    const abort = (): void => {
      socket.destroy();
      reject(new Error('the SMTP server did not answer in time'));
    };
    opts.signal.addEventListener('abort', abort, { once: true });
    socket.once(ready, () => {
      opts.signal.removeEventListener('abort', abort);
      resolve(socket);
    });
    socket.once('error', (err: Error) => {
      opts.signal.removeEventListener('abort', abort);
      reject(err);
    });
  });
}

function upgrade(plain: net.Socket, opts: SmtpOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    // `host` names whom the certificate must be for; over an existing socket Node
    // would otherwise check it against "localhost".
    const secure = tls.connect({ socket: plain, host: opts.host, ...tlsOptions(opts) });
    secure.once('secureConnect', () => resolve(secure));
    secure.once('error', reject);
  });
}

function tlsOptions(opts: SmtpOptions): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = { minVersion: 'TLSv1.2' };
  // SNI carries host names only (RFC 6066 section 3); the certificate is checked either way.
  if (net.isIP(opts.host) === 0) o.servername = opts.host;
  if (opts.ca) o.ca = [...tls.rootCertificates, opts.ca.toString()];
  return o;
}

/** EHLO; returns the keywords of the server's extensions (upper case), with their parameters. */
async function ehlo(conn: SmtpConnection, name: string): Promise<Map<string, string>> {
  const reply = await conn.command(`EHLO ${name}`, [250]);
  const ext = new Map<string, string>();
  for (const line of reply.lines.slice(1)) {
    const [keyword = '', ...params] = line.trim().split(/\s+/);
    ext.set(keyword.toUpperCase(), params.join(' ').toUpperCase());
  }
  return ext;
}

async function authenticate(
  conn: SmtpConnection,
  ext: Map<string, string>,
  user: string,
  pass: string,
): Promise<void> {
  const mechanisms = (ext.get('AUTH') ?? '').split(' ');
  if (mechanisms.includes('PLAIN') || !mechanisms.includes('LOGIN')) {
    const token = Buffer.from(`\0${user}\0${pass}`).toString('base64');
    await conn.command(`AUTH PLAIN ${token}`, [235], 'AUTH PLAIN');
    return;
  }
  await conn.command('AUTH LOGIN', [334]);
  await conn.command(Buffer.from(user).toString('base64'), [334], 'the user name');
  await conn.command(Buffer.from(pass).toString('base64'), [235], 'the password');
}

/** RFC 5321 section 4.5.2: a line starting with "." gets a second one. */
export function dotStuff(data: string): string {
  return data.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
}
