import { createECDH } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backoffMs } from '../src/notify/backoff.js';
import { encodeWord } from '../src/notify/channels/email.js';
import { retryAfterMs } from '../src/notify/channels/httpOutcome.js';
import { SMS_MAX_CHARS, smsText } from '../src/notify/channels/sms.js';
import { signWebhook, verifyWebhook } from '../src/notify/channels/webhookSignature.js';
import { readNotifyConfig } from '../src/notify/config.js';
import { addToDigest, digestMessage, type NotifyMessage } from '../src/notify/message.js';
import { encryptPushPayload } from '../src/notify/push/encrypt.js';
import { VapidSigner, generateVapidKeys } from '../src/notify/push/vapid.js';
import { dotStuff } from '../src/notify/smtp/client.js';
import { decrypt } from './mocks/pushService.js';

// RFC 8291 Appendix A: the keys, salt and result of the RFC's worked example.
const RFC8291 = {
  plaintext: 'When I grow up, I want to be a watermelon',
  asPrivate: 'yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw',
  uaPrivate: 'q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94',
  uaPublic:
    'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4',
  auth: 'BTBZMqHH6r4Tts7J_aSIgg',
  salt: 'DGv6ra1nlYgDCS1FRnbzlw',
  body:
    'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_' +
    'yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN',
};

const message: NotifyMessage = {
  event: 'raised',
  severity: 'critical',
  title: 'ALARM high temperature: fridge-3',
  text: 'Fridge 3 at 9.4 °C since 10:12 (limit 8.0 °C)',
  at: '2025-12-04T10:12:00.000Z',
};

describe('Web Push encryption and VAPID', () => {
  it('encrypts the RFC 8291 example byte for byte', () => {
    const sender = createECDH('prime256v1');
    sender.setPrivateKey(Buffer.from(RFC8291.asPrivate, 'base64url'));
    const body = encryptPushPayload(
      Buffer.from(RFC8291.plaintext),
      { p256dh: RFC8291.uaPublic, auth: RFC8291.auth },
      { salt: Buffer.from(RFC8291.salt, 'base64url'), senderKeys: sender },
    );
    expect(body.toString('base64url')).toBe(RFC8291.body);
  });

  it('decrypts the RFC 8291 example with the test push service', () => {
    const ua = createECDH('prime256v1');
    ua.setPrivateKey(Buffer.from(RFC8291.uaPrivate, 'base64url'));
    const plain = decrypt(Buffer.from(RFC8291.body, 'base64url'), {
      ecdh: ua,
      auth: Buffer.from(RFC8291.auth, 'base64url'),
    });
    expect(plain.toString()).toBe(RFC8291.plaintext);
  });

  it('refuses a VAPID key pair whose halves do not belong together', () => {
    const a = generateVapidKeys();
    const b = generateVapidKeys();
    expect(
      () =>
        new VapidSigner(
          { publicKey: a.publicKey, privateKey: b.privateKey },
          'mailto:x@y.z',
        ),
    ).toThrow(/does not belong/);
  });

  it('signs a token for the origin of the endpoint only', () => {
    const keys = generateVapidKeys();
    const header = new VapidSigner(keys, 'mailto:ops@clinic.example').authorization(
      new URL('https://push.example:8443/wpush/v2/abc?x=1'),
      Date.UTC(2025, 0, 1),
    );
    const [, jwt, k] = /^vapid t=([^,]+), k=(.+)$/.exec(header)!;
    expect(k).toBe(keys.publicKey);
    const claims = JSON.parse(
      Buffer.from(jwt!.split('.')[1]!, 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(claims).toEqual({
      aud: 'https://push.example:8443',
      exp: Date.UTC(2025, 0, 1) / 1000 + 43_200,
      sub: 'mailto:ops@clinic.example',
    });
  });
});

describe('webhook signature', () => {
  const body = '{"event":"raised"}';
  const now = 1_764_000_000;

  it('verifies a fresh signature and refuses a changed body, a wrong secret or an old timestamp', () => {
    const sig = signWebhook('secret-1', now, body);
    expect(sig).toMatch(/^v1=[0-9a-f]{64}$/);
    const ok = (secret: string, ts: number, b: string, at = now) =>
      verifyWebhook(secret, { signature: sig, timestamp: String(ts) }, b, at);
    expect(ok('secret-1', now, body)).toBe(true);
    expect(ok('secret-1', now, '{"event":"cleared"}')).toBe(false);
    expect(ok('secret-2', now, body)).toBe(false);
    expect(ok('secret-1', now, body, now + 301)).toBe(false);
  });

  it('accepts either of two signatures while a secret is rotated', () => {
    const both = `${signWebhook('old', now, body)}, ${signWebhook('new', now, body)}`;
    expect(
      verifyWebhook('new', { signature: both, timestamp: String(now) }, body, now),
    ).toBe(true);
  });
});

describe('message shaping', () => {
  it('keeps an SMS within two Unicode segments, with the link whole', () => {
    const long = {
      ...message,
      text: 'x'.repeat(400),
      url: 'https://heru.example/alarms/42',
    };
    const text = smsText(long);
    expect(text.length).toBe(SMS_MAX_CHARS);
    expect(text.endsWith('… https://heru.example/alarms/42')).toBe(true);
  });

  it('splits a long non-ASCII subject into encoded-words of at most 75 characters', () => {
    const header = encodeWord(
      '[Heru] ALARM Kühlschrank im Lager über 8 °C seit 10:12, bitte sofort prüfen',
    );
    const words = header.split('\r\n ');
    expect(words.length).toBeGreaterThan(1);
    for (const w of words) expect(w.length).toBeLessThanOrEqual(75);
    const decoded = words
      .map((w) => Buffer.from(w.slice(10, -2), 'base64').toString())
      .join('');
    expect(decoded).toBe(
      '[Heru] ALARM Kühlschrank im Lager über 8 °C seit 10:12, bitte sofort prüfen',
    );
  });

  it('doubles a leading dot on every line of mail data', () => {
    expect(dotStuff('a\n.b\r\n..c')).toBe('a\r\n..b\r\n...c');
  });

  it('counts every notice a digest holds and lists the latest five', () => {
    let d = digestMessage(message, new Date('2025-12-04T10:12:00Z'), 'Europe/Zurich');
    for (let i = 0; i < 9; i += 1)
      d = addToDigest(d, { ...message, text: `n${i}` }, 'Europe/Zurich');
    expect(d.digest?.count).toBe(10);
    expect(d.digest?.items).toHaveLength(5);
    expect(d.title).toBe('10 more notices since 11:12');
    expect(d.severity).toBe('critical');
  });
});

describe('retry timing', () => {
  const retry = readNotifyConfig({}).retry;

  it('doubles the wait from 2 s up to 15 min, less at most a quarter', () => {
    expect(backoffMs(1, retry, undefined, () => 0)).toBe(2000);
    expect(backoffMs(3, retry, undefined, () => 0)).toBe(8000);
    expect(backoffMs(3, retry, undefined, () => 1)).toBe(6000);
    expect(backoffMs(40, retry, undefined, () => 0)).toBe(900_000);
  });

  it('waits at least as long as the server asked in Retry-After', () => {
    expect(retryAfterMs('120')).toBe(120_000);
    expect(
      retryAfterMs(
        new Date(Date.UTC(2025, 0, 1, 0, 1)).toUTCString(),
        Date.UTC(2025, 0, 1),
      ),
    ).toBe(60_000);
    expect(backoffMs(1, retry, 120_000, () => 0)).toBe(120_000);
  });
});

describe('settings', () => {
  it('offers no channel that is not configured, and names the variable that is wrong', () => {
    const cfg = readNotifyConfig({});
    expect([cfg.push, cfg.sms, cfg.email]).toEqual([undefined, undefined, undefined]);
    expect(() => readNotifyConfig({ SMS_API_URL: 'https://sms.example' })).toThrow(
      /SMS_ACCOUNT_SID/,
    );
    expect(() => readNotifyConfig({ SMTP_URL: 'smtp://mail.example' })).toThrow(
      /SMTP_FROM/,
    );
    expect(() => readNotifyConfig({ VAPID_PUBLIC_KEY: 'abc' })).toThrow(
      /VAPID_PUBLIC_KEY/,
    );
    expect(() => readNotifyConfig({ NOTIFY_TIME_ZONE: 'Mars/Olympus' })).toThrow(
      /NOTIFY_TIME_ZONE/,
    );
  });
});
