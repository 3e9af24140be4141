/**
 * What a delivery says, independent of the channel: stored with the delivery (so a
 * retry sends the same words) and shaped by each channel into its own form.
 */
import type { AlarmEvent, AlarmKind, AlarmSeverity } from '../alarms/events.js';

/** Why a delivery exists: a change in an alarm's life, a test, or a digest of notices held back by the rate limit. */
export type NotifyEventType =
  'raised' | 'escalated' | 'acknowledged' | 'cleared' | 'test' | 'digest';

/** The alarm as a message tells of it (a copy; the alarm itself may change later). */
export interface MessageAlarm {
  id: string;
  kind: AlarmKind;
  severity: AlarmSeverity;
  device_id: string | null;
  site: string | null;
  profile: string | null;
  summary: string;
  since: string;
  level: number;
}

/** The words of one notice. */
export interface NotifyMessage {
  event: NotifyEventType;
  severity: AlarmSeverity;
  /** Short line: "ALARM high temperature: fridge-3". */
  title: string;
  /** The alarm's summary, or what a test or digest says. */
  text: string;
  /** When the event happened (server time, ISO 8601). */
  at: string;
  /** Link to the alarm in the dashboard, when NOTIFY_PUBLIC_URL is set. */
  url?: string;
  /** Who acknowledged, for `acknowledged`. */
  actor?: string;
  alarm?: MessageAlarm;
  digest?: { count: number; first_at: string; items: string[] };
}

const KIND_WORDS: Record<AlarmKind, string> = {
  excursion_high: 'high temperature',
  excursion_low: 'low temperature',
  excursion_immediate: 'temperature far out of range',
  cumulative_excursion: 'too long out of range',
  sensor_fault: 'sensor fault',
  device_offline: 'device offline',
  low_battery: 'low battery',
  historical_excursion: 'past excursion',
  operator: 'server problem',
};

/** Every alarm kind, for checking input. */
export const ALARM_KINDS = Object.keys(KIND_WORDS) as AlarmKind[];

/** Items a digest lists by name; the rest are counted. */
export const DIGEST_ITEMS = 5;

/** The message for an alarm event at the given escalation level. */
export function alarmMessage(
  event: AlarmEvent,
  eventType: NotifyEventType,
  level: number,
  publicUrl: URL | undefined,
): NotifyMessage {
  const what = KIND_WORDS[event.kind] ?? event.kind;
  const where = event.deviceId ?? event.site ?? 'server';
  const titles: Partial<Record<NotifyEventType, string>> = {
    raised: event.historical
      ? `Past excursion, reported late: ${what}, ${where}`
      : `ALARM ${what}: ${where}`,
    escalated: `ALARM not acknowledged (level ${level}) ${what}: ${where}`,
    acknowledged: `Acknowledged${event.actor ? ` by ${event.actor}` : ''}: ${what}, ${where}`,
    cleared: `Cleared: ${what}, ${where}`,
  };
  const message: NotifyMessage = {
    event: eventType,
    severity: event.severity,
    title: titles[eventType] ?? `${what}: ${where}`,
    text: event.summary,
    at: event.at,
    alarm: {
      id: event.alarmId,
      kind: event.kind,
      severity: event.severity,
      device_id: event.deviceId,
      site: event.site,
      profile: event.profile,
      summary: event.summary,
      since: event.since,
      level,
    },
  };
  if (publicUrl)
    message.url = new URL(
      `alarms/${encodeURIComponent(event.alarmId)}`,
      withSlash(publicUrl),
    ).toString();
  if (event.actor) message.actor = event.actor;
  return message;
}

/** The message a `test` delivery sends. */
export function testMessage(recipientName: string, now: Date): NotifyMessage {
  return {
    event: 'test',
    severity: 'info',
    title: 'Test notice',
    text: `This is a test from the cold-chain server for ${recipientName}. No action needed.`,
    at: now.toISOString(),
  };
}

/** A digest that starts with one held-back notice. */
export function digestMessage(
  first: NotifyMessage,
  now: Date,
  timeZone: string,
): NotifyMessage {
  const digest = { count: 1, first_at: now.toISOString(), items: [lineOf(first)] };
  return { ...digestWords(digest, timeZone), digest };
}

/** The digest with one more held-back notice added. */
export function addToDigest(
  digest: NotifyMessage,
  next: NotifyMessage,
  timeZone: string,
): NotifyMessage {
  const d = digest.digest ?? { count: 0, first_at: next.at, items: [] };
  const items = [...d.items, lineOf(next)].slice(-DIGEST_ITEMS);
  const merged = { count: d.count + 1, first_at: d.first_at, items };
  const severity =
    rank(next.severity) > rank(digest.severity) ? next.severity : digest.severity;
  return { ...digestWords(merged, timeZone), severity, digest: merged };
}

function digestWords(
  d: { count: number; first_at: string; items: string[] },
  timeZone: string,
): Omit<NotifyMessage, 'digest'> {
  const since = clock(d.first_at, timeZone);
  const latest = d.items.at(-1) ?? '';
  return {
    event: 'digest',
    severity: 'warning',
    title: `${d.count} more notice${d.count === 1 ? '' : 's'} since ${since}`,
    text:
      d.count === 1
        ? latest
        : `Latest: ${latest}. Held back by the rate limit; the dashboard lists them all.`,
    at: new Date().toISOString(),
  };
}

function lineOf(m: NotifyMessage): string {
  return `${m.title} (${m.text})`;
}

function rank(s: AlarmSeverity): number {
  return s === 'critical' ? 2 : s === 'warning' ? 1 : 0;
}

/** Severity order: info < warning < critical. */
export const severityRank = rank;

/** "14:03" in the configured zone. */
export function clock(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(iso));
}

function withSlash(u: URL): URL {
  return u.pathname.endsWith('/') ? u : new URL(`${u.toString()}/`);
}
