import { createHash } from 'node:crypto';
import type { PushConfig } from '../config.js';
import type { NotifyMessage } from '../message.js';
import { encryptPushPayload } from '../push/encrypt.js';
import { VapidSigner } from '../push/vapid.js';
import type { Attempt, Channel, ChannelTarget, SendResult } from './channel.js';
import { httpOutcome, networkOutcome } from './httpOutcome.js';

/**
 * Web Push to the dashboard's installed PWA: the payload (JSON the service worker
 * shows as a notification) encrypted per RFC 8291, sent to the subscription's
 * endpoint with a VAPID token (RFC 8292) and the headers of RFC 8030. The push
 * service answers 201; 404 or 410 means the subscription is gone for good.
 */
export class WebPushChannel implements Channel {
  readonly kind = 'push';
  private readonly vapid: VapidSigner;

  constructor(private readonly config: PushConfig) {
    this.vapid = new VapidSigner(config, config.subject);
  }

  async send(target: ChannelTarget, attempt: Attempt): Promise<SendResult> {
    if (!target.pushKeys) return { outcome: 'failed', error: 'push channel has no keys' };
    const endpoint = new URL(target.address);
    const m = attempt.message;
    const body = encryptPushPayload(
      Buffer.from(JSON.stringify(pushPayload(m))),
      target.pushKeys,
    );
    const headers: Record<string, string> = {
      authorization: this.vapid.authorization(endpoint),
      'content-encoding': 'aes128gcm',
      'content-type': 'application/octet-stream',
      ttl: String(this.config.ttlSeconds),
      urgency: m.severity === 'critical' ? 'high' : 'normal',
    };
    // RFC 8030 section 5.4: a newer message with the same topic replaces an undelivered older one.
    if (m.alarm) headers.topic = topicOf(m.alarm.id);
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers,
        body,
        signal: attempt.signal,
        redirect: 'manual',
      });
      if (res.status === 404 || res.status === 410) {
        await res.body?.cancel();
        return {
          outcome: 'failed',
          responseCode: res.status,
          error: `push subscription expired (push service answered ${res.status})`,
          channelGone: true,
        };
      }
      const result = await httpOutcome(res, 'push service');
      const location = res.headers.get('location');
      if (result.outcome === 'sent' && location) result.providerRef = location;
      return result;
    } catch (err) {
      return networkOutcome(err, 'push service', attempt.signal);
    }
  }
}

/** What the PWA's service worker receives (after decryption). */
export function pushPayload(m: NotifyMessage): Record<string, unknown> {
  return {
    title: m.title,
    body: m.text,
    event: m.event,
    severity: m.severity,
    tag: m.alarm ? `alarm-${m.alarm.id}` : `heru-${m.event}`,
    url: m.url ?? null,
    alarm_id: m.alarm?.id ?? null,
    at: m.at,
  };
}

/** A topic is at most 32 characters of the base64url alphabet. */
function topicOf(alarmId: string): string {
  return createHash('sha256').update(`alarm:${alarmId}`).digest('base64url').slice(0, 32);
}
