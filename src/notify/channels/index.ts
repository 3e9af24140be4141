import type { NotifyConfig } from '../config.js';
import type { Channel, ChannelKind } from './channel.js';
import { EmailChannel } from './email.js';
import { SmsChannel } from './sms.js';
import { WebhookChannel } from './webhook.js';
import { WebPushChannel } from './webPush.js';

/** The channels this configuration offers; webhooks need no settings and are always there. */
export function createChannels(config: NotifyConfig): Map<ChannelKind, Channel> {
  const channels = new Map<ChannelKind, Channel>([['webhook', new WebhookChannel()]]);
  if (config.push) channels.set('push', new WebPushChannel(config.push));
  if (config.sms) channels.set('sms', new SmsChannel(config.sms));
  if (config.email) channels.set('email', new EmailChannel(config.email));
  return channels;
}

/** What to set for a channel kind that is not configured, for error messages. */
export const HOW_TO_CONFIGURE: Record<ChannelKind, string> = {
  push: 'set VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT (see `heru vapid generate`)',
  sms: 'set SMS_API_URL, SMS_ACCOUNT_SID, SMS_AUTH_TOKEN and SMS_FROM',
  email: 'set SMTP_URL and SMTP_FROM',
  webhook: 'nothing to set',
};
