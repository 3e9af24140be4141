import type { Attempt, Channel, ChannelTarget, SendResult } from './channel.js';
import { httpOutcome, networkOutcome } from './httpOutcome.js';
import {
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  signWebhook,
} from './webhookSignature.js';

/**
 * A signed JSON POST to the recipient's URL. The body names the delivery, the event
 * and the alarm; `Heru-Delivery` stays the same across retries so a receiver can
 * drop a second copy.
 */
export class WebhookChannel implements Channel {
  readonly kind = 'webhook';

  async send(target: ChannelTarget, attempt: Attempt): Promise<SendResult> {
    if (!target.webhookSecret)
      return { outcome: 'failed', error: 'webhook channel has no secret' };
    const m = attempt.message;
    const body = JSON.stringify({
      delivery_id: attempt.deliveryId,
      event: m.event,
      severity: m.severity,
      title: m.title,
      text: m.text,
      at: m.at,
      url: m.url ?? null,
      actor: m.actor ?? null,
      alarm: m.alarm ?? null,
      digest: m.digest ?? null,
      recipient: { id: target.recipient.id, name: target.recipient.name },
    });
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const res = await fetch(target.address, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'heru-notify/1',
          [DELIVERY_HEADER]: attempt.deliveryId,
          [EVENT_HEADER]: `alarm.${m.event}`,
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signWebhook(target.webhookSecret, timestamp, body),
        },
        body,
        signal: attempt.signal,
        redirect: 'manual',
      });
      return await httpOutcome(res, 'webhook');
    } catch (err) {
      return networkOutcome(err, 'webhook', attempt.signal);
    }
  }
}
