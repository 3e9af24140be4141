/**
 * The edge of the recipients API: request bodies checked once into typed inputs.
 * Every refusal is a 400 naming the field and the form expected; unknown fields are
 * refused too, so a misspelt option never silently does nothing.
 */
import { randomBytes } from 'node:crypto';
import type { AlarmKind, AlarmSeverity } from '../alarms/events.js';
import { ApiError } from '../http/errors.js';
import type { ChannelKind } from './channels/channel.js';
import { ALARM_KINDS } from './message.js';
import { checkSubscriptionKeys } from './push/encrypt.js';

export type Scope = 'all' | 'site' | 'profile' | 'device';
export type NotifyOn = 'raised' | 'acknowledged' | 'cleared';

export interface RecipientInput {
  name: string;
  scope: Scope;
  scope_value: string | null;
  level: number;
  min_severity: AlarmSeverity;
  alarm_kinds: AlarmKind[] | null;
  notify_on: NotifyOn[];
  enabled: boolean;
}

export interface ChannelInput {
  kind: ChannelKind;
  address: string;
  pushKeys?: { p256dh: string; auth: string };
  webhookSecret?: string;
}

/** What the URL checks allow: `http:` only to loopback unless NOTIFY_ALLOW_HTTP is on. */
export interface InputRules {
  allowHttp: boolean;
}

type Body = Record<string, unknown>;

const SCOPES: readonly Scope[] = ['all', 'site', 'profile', 'device'];
const SEVERITIES: readonly AlarmSeverity[] = ['info', 'warning', 'critical'];
const NOTIFY_ON: readonly NotifyOn[] = ['raised', 'acknowledged', 'cleared'];
const RECIPIENT_FIELDS = [
  'name',
  'scope',
  'scope_value',
  'level',
  'min_severity',
  'alarm_kinds',
  'notify_on',
  'enabled',
  'channels',
];
const E164 = /^\+[1-9]\d{6,14}$/;
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const SCOPE_VALUE = /^[A-Za-z0-9._:-]{1,64}$/;

/** A new recipient, with the channels it may bring along. */
export function parseNewRecipient(
  body: unknown,
  rules: InputRules,
): { recipient: RecipientInput; channels: ChannelInput[] } {
  const b = object(body, 'The body');
  onlyFields(b, RECIPIENT_FIELDS, 'a recipient');
  const recipient = parseRecipientFields(b, DEFAULTS);
  const list = b.channels ?? [];
  if (!Array.isArray(list) || list.length > 20) {
    throw bad('channels must be a list of at most 20 channels.');
  }
  const channels = list.map((c: unknown, i) => parseChannel(c, rules, `channels[${i}]`));
  return { recipient, channels };
}

/** A change to a recipient: the fields given replace the current ones. */
export function parseRecipientPatch(
  body: unknown,
  current: RecipientInput,
): RecipientInput {
  const b = object(body, 'The body');
  onlyFields(
    b,
    RECIPIENT_FIELDS.filter((f) => f !== 'channels'),
    'a recipient change (channels have their own routes)',
  );
  const merged = parseRecipientFields(b, current);
  if ('scope' in b && !('scope_value' in b) && merged.scope !== 'all') {
    throw bad('scope_value must be given with scope.');
  }
  return merged;
}

const DEFAULTS: RecipientInput = {
  name: '',
  scope: 'all',
  scope_value: null,
  level: 0,
  min_severity: 'warning',
  alarm_kinds: null,
  notify_on: ['raised', 'cleared'],
  enabled: true,
};

function parseRecipientFields(b: Body, base: RecipientInput): RecipientInput {
  const r: RecipientInput = { ...base };
  if ('name' in b) r.name = text(b.name, 'name', 120);
  if (r.name === '')
    throw bad('name is required: who this is, such as "Night pharmacist".');
  if ('scope' in b) r.scope = oneOf(b.scope, SCOPES, 'scope');
  if ('scope' in b || 'scope_value' in b) {
    r.scope_value =
      r.scope === 'all' ? nullOr(b.scope_value) : scopeValue(b.scope_value, r.scope);
  }
  if (r.scope === 'all' && r.scope_value !== null) {
    throw bad('scope_value must be null or absent when scope is "all".');
  }
  if ('level' in b) r.level = integer(b.level, 'level', 0, 9);
  if ('min_severity' in b)
    r.min_severity = oneOf(b.min_severity, SEVERITIES, 'min_severity');
  if ('alarm_kinds' in b) {
    r.alarm_kinds =
      b.alarm_kinds === null ? null : list(b.alarm_kinds, ALARM_KINDS, 'alarm_kinds');
  }
  if ('notify_on' in b) r.notify_on = list(b.notify_on, NOTIFY_ON, 'notify_on');
  if ('enabled' in b) {
    if (typeof b.enabled !== 'boolean') throw bad('enabled must be true or false.');
    r.enabled = b.enabled;
  }
  return r;
}

/** One channel: `{kind: "sms", to}`, `{kind: "email", to}`, `{kind: "webhook", url, secret?}` or `{kind: "push", subscription}`. */
export function parseChannel(
  body: unknown,
  rules: InputRules,
  where = 'The channel',
): ChannelInput {
  const b = object(body, where);
  switch (b.kind) {
    case 'sms': {
      onlyFields(b, ['kind', 'to'], `${where} (sms)`);
      if (typeof b.to !== 'string' || !E164.test(b.to)) {
        throw bad(
          `${where}.to must be a phone number in E.164 form, such as +41791234567.`,
        );
      }
      return { kind: 'sms', address: b.to };
    }
    case 'email': {
      onlyFields(b, ['kind', 'to'], `${where} (email)`);
      if (typeof b.to !== 'string' || b.to.length > 254 || !EMAIL.test(b.to)) {
        throw bad(`${where}.to must be an e-mail address such as nurse@clinic.example.`);
      }
      return { kind: 'email', address: b.to };
    }
    case 'webhook':
      return parseWebhook(b, rules, where);
    case 'push':
      return parsePush(b, rules, where);
    default:
      throw bad(`${where}.kind must be one of push, sms, email, webhook.`);
  }
}

function parseWebhook(b: Body, rules: InputRules, where: string): ChannelInput {
  onlyFields(b, ['kind', 'url', 'secret'], `${where} (webhook)`);
  const address = targetUrl(b.url, rules, `${where}.url`);
  let secret: string;
  if (b.secret === undefined) {
    secret = randomBytes(32).toString('base64url');
  } else if (typeof b.secret === 'string' && /^[\x21-\x7e]{32,256}$/.test(b.secret)) {
    secret = b.secret;
  } else {
    throw bad(
      `${where}.secret must be 32 to 256 printable characters, or absent to have one made.`,
    );
  }
  return { kind: 'webhook', address, webhookSecret: secret };
}

function parsePush(b: Body, rules: InputRules, where: string): ChannelInput {
  onlyFields(b, ['kind', 'subscription'], `${where} (push)`);
  const sub = object(
    b.subscription,
    `${where}.subscription (the browser's PushSubscription JSON)`,
  );
  const address = targetUrl(sub.endpoint, rules, `${where}.subscription.endpoint`);
  const keys = object(sub.keys, `${where}.subscription.keys`);
  if (typeof keys.p256dh !== 'string' || typeof keys.auth !== 'string') {
    throw bad(`${where}.subscription.keys must hold p256dh and auth as base64url text.`);
  }
  const pushKeys = { p256dh: keys.p256dh, auth: keys.auth };
  const problem = checkSubscriptionKeys(pushKeys);
  if (problem) throw bad(`${where}.subscription.${problem}.`);
  return { kind: 'push', address, pushKeys };
}

function targetUrl(value: unknown, rules: InputRules, field: string): string {
  let u: URL;
  try {
    if (typeof value !== 'string' || value.length > 2048) throw new Error('not text');
    u = new URL(value);
  } catch {
    throw bad(`${field} must be an absolute https:// URL of at most 2048 characters.`);
  }
  if (u.username || u.password)
    throw bad(`${field} must not carry a user name or password.`);
  if (u.protocol === 'https:') return u.toString();
  if (u.protocol === 'http:' && (rules.allowHttp || isLoopback(u.hostname)))
    return u.toString();
  throw bad(
    `${field} must use https:// (http:// is accepted for loopback addresses, or everywhere with NOTIFY_ALLOW_HTTP=true).`,
  );
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function scopeValue(v: unknown, scope: Scope): string {
  if (typeof v !== 'string' || !SCOPE_VALUE.test(v)) {
    throw bad(
      `scope_value must name the ${scope}: 1 to 64 of letters, digits, ".", "_", ":" or "-".`,
    );
  }
  return v;
}

function object(v: unknown, what: string): Body {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw bad(`${what} must be a JSON object.`);
  }
  return v as Body;
}

function onlyFields(b: Body, allowed: string[], what: string): void {
  const extra = Object.keys(b).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    throw bad(
      `Unknown field ${extra.map((k) => JSON.stringify(k)).join(', ')} in ${what}; known: ${allowed.join(', ')}.`,
    );
  }
}

function text(v: unknown, field: string, max: number): string {
  if (typeof v !== 'string' || v.trim() === '' || v.length > max || /[\r\n]/.test(v)) {
    throw bad(`${field} must be one line of text, 1 to ${max} characters.`);
  }
  return v.trim();
}

function integer(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw bad(`${field} must be a whole number from ${min} to ${max}.`);
  }
  return v;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], field: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw bad(`${field} must be one of ${allowed.join(', ')}.`);
  }
  return v as T;
}

function list<T extends string>(v: unknown, allowed: readonly T[], field: string): T[] {
  if (!Array.isArray(v))
    throw bad(`${field} must be a list drawn from ${allowed.join(', ')}.`);
  return [...new Set(v.map((x) => oneOf(x, allowed, `each of ${field}`)))];
}

function nullOr(v: unknown): null {
  if (v !== undefined && v !== null)
    throw bad('scope_value must be null or absent when scope is "all".');
  return null;
}

function bad(message: string): ApiError {
  return new ApiError('BAD_REQUEST', message);
}
