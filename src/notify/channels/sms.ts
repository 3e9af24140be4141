import type { SmsConfig } from '../config.js';
import type { NotifyMessage } from '../message.js';
import type { Attempt, Channel, ChannelTarget, SendResult } from './channel.js';
import { httpOutcome, networkOutcome } from './httpOutcome.js';

/** Longest SMS text sent, in characters: two concatenated segments of a Unicode SMS. */
export const SMS_MAX_CHARS = 134;

/**
 * SMS through Twilio's Messages API: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`,
 * form-encoded `To`, `From` (or `MessagingServiceSid`) and `Body`, with HTTP basic
 * auth (account SID or API key SID, and the token or key secret). Twilio answers
 * 201 with the message resource, whose `sid` we keep; 4xx bodies carry a numeric
 * `code` (21211: not a valid number) that is recorded in the error.
 */
export class SmsChannel implements Channel {
  readonly kind = 'sms';
  private readonly endpoint: URL;
  private readonly authorization: string;

  constructor(private readonly config: SmsConfig) {
    const base = config.apiUrl.toString().replace(/\/+$/, '');
    this.endpoint = new URL(
      `${base}/2010-04-01/Accounts/${encodeURIComponent(config.accountSid)}/Messages.json`,
    );
    const pair = `${config.username}:${config.password}`;
    this.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  }

  async send(target: ChannelTarget, attempt: Attempt): Promise<SendResult> {
    const form = new URLSearchParams({
      To: target.address,
      Body: smsText(attempt.message),
    });
    if (this.config.messagingServiceSid) {
      form.set('MessagingServiceSid', this.config.messagingServiceSid);
    } else if (this.config.from) {
      form.set('From', this.config.from);
    }
    try {
      const res = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          authorization: this.authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        signal: attempt.signal,
        redirect: 'manual',
      });
      if (res.status !== 201 && res.status !== 200)
        return await httpOutcome(res, 'SMS provider');
      const answer = (await res.json().catch(() => ({}))) as { sid?: unknown };
      const result: SendResult = { outcome: 'sent', responseCode: res.status };
      if (typeof answer.sid === 'string') result.providerRef = answer.sid;
      return result;
    } catch (err) {
      return networkOutcome(err, 'SMS provider', attempt.signal);
    }
  }
}

/** The text of an SMS: title, summary and link, cut to SMS_MAX_CHARS. */
export function smsText(m: NotifyMessage): string {
  const link = m.url ? ` ${m.url}` : '';
  const text = `${m.title}. ${m.text}`;
  const room = SMS_MAX_CHARS - link.length;
  const cut = text.length > room ? `${text.slice(0, Math.max(0, room - 1))}…` : text;
  return `${cut}${link}`;
}
