/**
 * An SMS provider on 127.0.0.1 speaking Twilio's Messages API:
 * `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP basic auth, a
 * form-encoded body with `To`, `From` (or `MessagingServiceSid`) and `Body`;
 * 201 with the message resource, or Twilio's error body `{code, message, more_info, status}`.
 */
import { randomBytes } from 'node:crypto';
import { sendJson, startHttpServer } from './httpServer.js';

export interface SentSms {
  to: string;
  from: string | null;
  body: string;
  sid: string;
}

export interface MockSmsProvider {
  url: URL;
  accountSid: string;
  authToken: string;
  sent: SentSms[];
  /** Every request, accepted or not, with the time it arrived (ms). */
  requests: Array<{ at: number; status: number }>;
  /** The next `n` valid requests are answered with `status` (and Retry-After when given). */
  failNext(n: number, status: number, retryAfterS?: number): void;
  close(): Promise<void>;
}

const E164 = /^\+[1-9]\d{6,14}$/;

export async function startSmsProvider(): Promise<MockSmsProvider> {
  const accountSid = `AC${randomBytes(16).toString('hex')}`;
  const authToken = randomBytes(16).toString('hex');
  const sent: SentSms[] = [];
  const requests: MockSmsProvider['requests'] = [];
  let failing = { n: 0, status: 503, retryAfterS: undefined as number | undefined };

  const error = (status: number, code: number, message: string) => ({
    code,
    message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  });

  const server = await startHttpServer((req, res, raw) => {
    const answer = (
      status: number,
      body: unknown,
      headers: Record<string, string> = {},
    ) => {
      requests.push({ at: Date.now(), status });
      sendJson(res, status, body, headers);
    };
    const path = `/2010-04-01/Accounts/${accountSid}/Messages.json`;
    if (req.method !== 'POST' || req.url !== path) {
      return answer(404, error(404, 20404, 'The requested resource was not found'));
    }
    const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      return answer(401, error(401, 20003, 'Authenticate'));
    }
    if (
      !String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')
    ) {
      return answer(400, error(400, 21000, 'Expected a form-encoded body'));
    }
    const form = new URLSearchParams(raw.toString('utf8'));
    const to = form.get('To') ?? '';
    const from = form.get('From');
    const body = form.get('Body') ?? '';
    if (!E164.test(to))
      return answer(
        400,
        error(400, 21211, `The 'To' number ${to} is not a valid phone number.`),
      );
    if (!from && !form.get('MessagingServiceSid')) {
      return answer(400, error(400, 21603, "The 'From' phone number is required."));
    }
    if (body === '') return answer(400, error(400, 21602, 'Message body is required.'));
    if (failing.n > 0) {
      failing.n -= 1;
      const headers: Record<string, string> =
        failing.retryAfterS === undefined
          ? {}
          : { 'retry-after': String(failing.retryAfterS) };
      return answer(
        failing.status,
        error(failing.status, 20500, 'Internal Server Error'),
        headers,
      );
    }
    const sid = `SM${randomBytes(16).toString('hex')}`;
    sent.push({ to, from, body, sid });
    answer(201, {
      sid,
      account_sid: accountSid,
      to,
      from,
      body,
      status: 'queued',
      direction: 'outbound-api',
      api_version: '2010-04-01',
      date_created: new Date().toUTCString(),
      error_code: null,
      error_message: null,
      uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
    });
  });

  return {
    url: server.url,
    accountSid,
    authToken,
    sent,
    requests,
    failNext(n, status, retryAfterS) {
      failing = { n, status, retryAfterS };
    },
    close: () => server.close(),
  };
}
