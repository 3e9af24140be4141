import { readFileSync } from 'node:fs';
import type { EmailConfig } from '../config.js';
import type { NotifyMessage } from '../message.js';
import { sendMail, SmtpError, type SmtpOptions } from '../smtp/client.js';
import type { Attempt, Channel, ChannelTarget, SendResult } from './channel.js';

/**
 * E-mail over SMTP, a plain-text message per delivery. The Message-ID is derived
 * from the delivery, so a retry after a lost reply is recognisable as the same mail.
 */
export class EmailChannel implements Channel {
  readonly kind = 'email';
  private readonly ca: Buffer | undefined;

  constructor(private readonly config: EmailConfig) {
    this.ca = config.caFile ? readFileSync(config.caFile) : undefined;
  }

  async send(target: ChannelTarget, attempt: Attempt): Promise<SendResult> {
    const u = this.config.url;
    const implicitTls = u.protocol === 'smtps:';
    const opts: SmtpOptions = {
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port ? Number(u.port) : implicitTls ? 465 : 587,
      implicitTls,
      starttls: this.config.starttls,
      heloName: this.config.heloName,
      signal: attempt.signal,
    };
    if (this.config.username !== undefined) opts.username = this.config.username;
    if (this.config.password !== undefined) opts.password = this.config.password;
    if (this.ca) opts.ca = this.ca;
    const data = composeMail(this.config.from, target.address, attempt, new Date());
    try {
      const reply = await sendMail(
        opts,
        { from: this.config.from, to: [target.address] },
        data,
      );
      return {
        outcome: 'sent',
        responseCode: reply.code,
        providerRef: reply.lines.join(' ').slice(0, 200),
      };
    } catch (err) {
      if (err instanceof SmtpError) {
        const result: SendResult = {
          outcome: err.permanent ? 'failed' : 'retry',
          error: err.message,
        };
        if (err.code !== undefined) result.responseCode = err.code;
        return result;
      }
      return { outcome: 'retry', error: networkError(err, attempt.signal) };
    }
  }
}

function networkError(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return 'SMTP server did not answer in time';
  const e = err as { code?: string; message?: string };
  if (/CERT|SELF_SIGNED|ERR_TLS/.test(e.code ?? '')) {
    return `SMTP server's certificate is not trusted (${e.code}); set SMTP_CA_FILE to its CA`;
  }
  return `SMTP server unreachable: ${e.code ?? e.message}`;
}

/** The whole message: headers and a base64 UTF-8 text body, CRLF line ends. */
export function composeMail(
  from: string,
  to: string,
  attempt: Attempt,
  now: Date,
): string {
  const m = attempt.message;
  const domain = from.split('@')[1] ?? 'localhost';
  const headers = [
    `From: ${from}`,
    `To: ${to}`,
    `Subject: ${encodeWord(`[Heru] ${m.title}`)}`,
    `Date: ${now.toUTCString().replace(/GMT$/, '+0000')}`,
    `Message-ID: <delivery-${attempt.deliveryId}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    // RFC 3834: automatic mail; auto-responders should not answer it.
    'Auto-Submitted: auto-generated',
    `X-Heru-Event: ${m.event}`,
  ];
  if (m.alarm) headers.push(`X-Heru-Alarm: ${m.alarm.id.replace(/[^\x21-\x7e]/g, '')}`);
  const body = Buffer.from(mailText(m)).toString('base64').replace(/.{76}/g, '$&\r\n');
  return `${headers.join('\r\n')}\r\n\r\n${body}`;
}

/** The readable text of the mail. */
export function mailText(m: NotifyMessage): string {
  const lines = [m.title, '', m.text, ''];
  const a = m.alarm;
  if (a) {
    lines.push(`Alarm:     ${a.id} (${a.kind}, ${a.severity})`);
    if (a.device_id) lines.push(`Device:    ${a.device_id}`);
    if (a.site) lines.push(`Site:      ${a.site}`);
    if (a.profile) lines.push(`Profile:   ${a.profile}`);
    lines.push(`Since:     ${a.since}`, `Reported:  ${m.at}`);
    if (a.level > 0) lines.push(`Escalation level: ${a.level}`);
  }
  if (m.actor) lines.push(`Acknowledged by: ${m.actor}`);
  if (m.digest)
    lines.push('Held back by the rate limit:', ...m.digest.items.map((i) => `- ${i}`));
  if (m.url) lines.push('', m.url);
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * RFC 2047 encoded-words for a header that is not plain ASCII: at most 75 characters
 * each, so the text is cut into pieces of whole characters, folded onto new lines.
 */
export function encodeWord(text: string): string {
  const clean = text.replace(/[\r\n]+/g, ' ');
  if (/^[\x20-\x7e]*$/.test(clean)) return clean;
  const words: string[] = [];
  let piece = '';
  for (const ch of clean) {
    if (Buffer.byteLength(piece + ch) > 45) {
      words.push(piece);
      piece = '';
    }
    piece += ch;
  }
  words.push(piece);
  return words
    .map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`)
    .join('\r\n ');
}
