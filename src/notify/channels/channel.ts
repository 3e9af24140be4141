import type { NotifyMessage } from '../message.js';

/** The four ways the hub reaches a person or a system. */
export type ChannelKind = 'push' | 'sms' | 'email' | 'webhook';

export const CHANNEL_KINDS: readonly ChannelKind[] = ['push', 'sms', 'email', 'webhook'];

/** One stored channel of a recipient, as a channel needs it to send. */
export interface ChannelTarget {
  id: string;
  kind: ChannelKind;
  /** E.164 number, e-mail address, webhook URL or push endpoint. */
  address: string;
  pushKeys?: { p256dh: string; auth: string };
  webhookSecret?: string;
  recipient: { id: string; name: string };
}

/** One attempt to send one delivery. */
export interface Attempt {
  deliveryId: string;
  /** 1 for the first attempt. */
  attempt: number;
  message: NotifyMessage;
  /** Aborts when the attempt's time is up. */
  signal: AbortSignal;
}

/**
 * How an attempt ended: `sent`, `retry` (a temporary failure: try again later) or
 * `failed` (it cannot work: a bad number, a gone subscription, refused credentials).
 */
export interface SendResult {
  outcome: 'sent' | 'retry' | 'failed';
  /** HTTP status or SMTP reply code. */
  responseCode?: number;
  /** The provider's id of the message (SMS SID, push message URL, SMTP queue id). */
  providerRef?: string;
  error?: string;
  /** The server asked us to wait this long (Retry-After), in milliseconds. */
  retryAfterMs?: number;
  /** The channel itself is dead (push subscription expired): disable it. */
  channelGone?: boolean;
}

/** Sends messages of one kind. Never throws: every failure is a SendResult. */
export interface Channel {
  readonly kind: ChannelKind;
  send(target: ChannelTarget, attempt: Attempt): Promise<SendResult>;
}
