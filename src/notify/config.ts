import { hostname } from 'node:os';
import { ConfigError } from '../config/ConfigError.js';
import { type Env, int, oneOf, str, url } from '../config/env.js';

/** Web Push settings: the VAPID key pair made by `heru vapid generate`. */
export interface PushConfig {
  /** Uncompressed P-256 public key, base64url (65 bytes), `VAPID_PUBLIC_KEY`. */
  publicKey: string;
  /** P-256 private scalar, base64url (32 bytes), `VAPID_PRIVATE_KEY`. */
  privateKey: string;
  /** Who runs this server, for the push service: `mailto:` or `https:` (`VAPID_SUBJECT`). */
  subject: string;
  /** Seconds a push service keeps an undelivered message, default 43200 (12 h). */
  ttlSeconds: number;
}

/** SMS through a provider's HTTP API; Twilio's Messages API is the first. */
export interface SmsConfig {
  provider: 'twilio';
  /** Base URL of the provider's API, `SMS_API_URL` (no default: set it to the provider's). */
  apiUrl: URL;
  accountSid: string;
  /** Basic-auth user: an API key SID when set, the account SID otherwise. */
  username: string;
  /** Basic-auth password: the auth token or the API key's secret. */
  password: string;
  /** Sender number (E.164) or alphanumeric id; or a messaging service instead. */
  from?: string;
  messagingServiceSid?: string;
}

export type StartTls = 'required' | 'opportunistic' | 'off';

/** E-mail over SMTP. */
export interface EmailConfig {
  /** `smtp://host:587` (STARTTLS per `starttls`) or `smtps://host:465` (TLS from the start). */
  url: URL;
  from: string;
  starttls: StartTls;
  username?: string;
  password?: string;
  /** PEM file of a CA to trust for the SMTP server's certificate, besides the system's. */
  caFile?: string;
  /** Name given in EHLO, default the host name. */
  heloName: string;
}

/** Everything the notification hub reads from the environment. */
export interface NotifyConfig {
  /** Run the delivery worker in this process (`NOTIFY_WORKER`, default on). */
  worker: boolean;
  /** Milliseconds between looks for due deliveries and escalations, default 1000. */
  pollMs: number;
  /** Deliveries sent at the same time by one worker, default 8. */
  concurrency: number;
  /** Milliseconds one attempt may take before it counts as failed, default 10000. */
  timeoutMs: number;
  retry: {
    /** Milliseconds before the second attempt; doubles each time, default 2000. */
    baseMs: number;
    /** Longest wait between attempts in milliseconds, default 900000 (15 min). */
    maxMs: number;
    /** Attempts before a delivery is given up, default 10. */
    maxAttempts: number;
    /** Seconds after which an unsent delivery is given up, default 86400. */
    maxAgeSeconds: number;
  };
  /** At most `count` messages per recipient channel in any `windowSeconds`; the rest are merged into one digest. */
  rateLimit: { count: number; windowSeconds: number };
  /** Seconds an alarm may stay unacknowledged before the next level is told, default 900. */
  escalateAfterSeconds: number;
  /** Base URL of the dashboard for links in messages (`NOTIFY_PUBLIC_URL`). */
  publicUrl?: URL;
  /** IANA time zone for times written in messages, default UTC. */
  timeZone: string;
  /** Allow `http:` webhook and push URLs on hosts other than loopback, default off. */
  allowHttp: boolean;
  push?: PushConfig;
  sms?: SmsConfig;
  email?: EmailConfig;
}

/** Reads the hub's settings; a channel whose settings are absent is simply not offered. */
export function readNotifyConfig(env: Env): NotifyConfig {
  const cfg: NotifyConfig = {
    worker: bool(env, 'NOTIFY_WORKER', true),
    pollMs: int(env, 'NOTIFY_POLL_MS', 1000, { min: 10, max: 60_000 }),
    concurrency: int(env, 'NOTIFY_CONCURRENCY', 8, { min: 1, max: 256 }),
    timeoutMs: int(env, 'NOTIFY_TIMEOUT_MS', 10_000, { min: 100, max: 120_000 }),
    retry: {
      baseMs: int(env, 'NOTIFY_RETRY_BASE_MS', 2000, { min: 10, max: 3_600_000 }),
      maxMs: int(env, 'NOTIFY_RETRY_MAX_MS', 900_000, { min: 10, max: 86_400_000 }),
      maxAttempts: int(env, 'NOTIFY_MAX_ATTEMPTS', 10, { min: 1, max: 100 }),
      maxAgeSeconds: int(env, 'NOTIFY_MAX_AGE_SECONDS', 86_400, { min: 1, max: 604_800 }),
    },
    rateLimit: {
      count: int(env, 'NOTIFY_RATE_LIMIT', 5, { min: 1, max: 10_000 }),
      windowSeconds: int(env, 'NOTIFY_RATE_WINDOW_SECONDS', 900, { min: 1, max: 86_400 }),
    },
    escalateAfterSeconds: int(env, 'NOTIFY_ESCALATE_AFTER_SECONDS', 900, {
      min: 1,
      max: 604_800,
    }),
    timeZone: readTimeZone(env),
    allowHttp: bool(env, 'NOTIFY_ALLOW_HTTP', false),
  };
  const publicUrl = url(env, 'NOTIFY_PUBLIC_URL', ['http:', 'https:']);
  if (publicUrl) cfg.publicUrl = publicUrl;
  const push = readPush(env);
  if (push) cfg.push = push;
  const sms = readSms(env);
  if (sms) cfg.sms = sms;
  const email = readEmail(env);
  if (email) cfg.email = email;
  return cfg;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, 'true or false', raw);
}

function readTimeZone(env: Env): string {
  const zone = str(env, 'NOTIFY_TIME_ZONE') ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
  } catch {
    throw new ConfigError(
      'NOTIFY_TIME_ZONE',
      'an IANA time zone such as Europe/Zurich',
      zone,
    );
  }
  return zone;
}

function readPush(env: Env): PushConfig | undefined {
  const publicKey = str(env, 'VAPID_PUBLIC_KEY');
  const privateKey = str(env, 'VAPID_PRIVATE_KEY');
  if (publicKey === undefined && privateKey === undefined) return undefined;
  if (publicKey === undefined || !/^[\w-]{86,88}$/.test(publicKey)) {
    throw new ConfigError(
      'VAPID_PUBLIC_KEY',
      'the base64url public key from `heru vapid generate`',
    );
  }
  if (privateKey === undefined || !/^[\w-]{42,44}$/.test(privateKey)) {
    throw new ConfigError(
      'VAPID_PRIVATE_KEY',
      'the base64url private key from `heru vapid generate` (set with VAPID_PUBLIC_KEY)',
    );
  }
  const subject = str(env, 'VAPID_SUBJECT');
  if (subject === undefined || !/^(mailto:\S+@\S+|https:\/\/\S+)$/.test(subject)) {
    throw new ConfigError(
      'VAPID_SUBJECT',
      'a contact for push services: mailto:ops@example.org or an https:// URL',
      subject,
    );
  }
  const ttlSeconds = int(env, 'PUSH_TTL_SECONDS', 43_200, { min: 0, max: 2_419_200 });
  return { publicKey, privateKey, subject, ttlSeconds };
}

function readSms(env: Env): SmsConfig | undefined {
  const apiUrl = url(env, 'SMS_API_URL', ['https:', 'http:']);
  if (!apiUrl) return undefined;
  oneOf(env, 'SMS_PROVIDER', ['twilio'], 'twilio');
  const accountSid = str(env, 'SMS_ACCOUNT_SID');
  const token = str(env, 'SMS_AUTH_TOKEN');
  if (accountSid === undefined)
    throw new ConfigError('SMS_ACCOUNT_SID', 'the account SID (AC…)');
  if (token === undefined) {
    throw new ConfigError(
      'SMS_AUTH_TOKEN',
      'the auth token, or the secret of SMS_API_KEY_SID',
    );
  }
  const from = str(env, 'SMS_FROM');
  const messagingServiceSid = str(env, 'SMS_MESSAGING_SERVICE_SID');
  if (from === undefined && messagingServiceSid === undefined) {
    throw new ConfigError(
      'SMS_FROM',
      'the sender number in E.164 (or SMS_MESSAGING_SERVICE_SID)',
    );
  }
  const sms: SmsConfig = {
    provider: 'twilio',
    apiUrl,
    accountSid,
    username: str(env, 'SMS_API_KEY_SID') ?? accountSid,
    password: token,
  };
  if (from !== undefined) sms.from = from;
  if (messagingServiceSid !== undefined) sms.messagingServiceSid = messagingServiceSid;
  return sms;
}

function readEmail(env: Env): EmailConfig | undefined {
  const u = url(env, 'SMTP_URL', ['smtp:', 'smtps:']);
  if (!u) return undefined;
  const from = str(env, 'SMTP_FROM');
  if (from === undefined || !/^[^\s@<>]+@[^\s@<>]+$/.test(from)) {
    throw new ConfigError(
      'SMTP_FROM',
      'the sender address, such as alarms@example.org',
      from,
    );
  }
  const email: EmailConfig = {
    url: u,
    from,
    starttls: oneOf(
      env,
      'SMTP_STARTTLS',
      ['required', 'opportunistic', 'off'],
      'required',
    ),
    heloName: str(env, 'SMTP_HELO_NAME') ?? hostname(),
  };
  const username =
    str(env, 'SMTP_USERNAME') ??
    (u.username ? decodeURIComponent(u.username) : undefined);
  const password =
    str(env, 'SMTP_PASSWORD') ??
    (u.password ? decodeURIComponent(u.password) : undefined);
  const caFile = str(env, 'SMTP_CA_FILE');
  if (username !== undefined) email.username = username;
  if (password !== undefined) email.password = password;
  if (caFile !== undefined) email.caFile = caFile;
  if ((username === undefined) !== (password === undefined)) {
    throw new ConfigError(
      'SMTP_PASSWORD',
      'set together with SMTP_USERNAME (both or neither)',
    );
  }
  return email;
}
