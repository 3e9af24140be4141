import type { FastifyInstance } from 'fastify';
import type { Pool } from '../../db/pool.js';
import { HOW_TO_CONFIGURE } from '../../notify/channels/index.js';
import { getDelivery, listDeliveries } from '../../notify/deliveryLog.js';
import type { NotificationHub } from '../../notify/hub.js';
import type { NotifyConfig } from '../../notify/config.js';
import {
  parseChannel,
  parseNewRecipient,
  parseRecipientPatch,
  type ChannelInput,
} from '../../notify/recipientInput.js';
import {
  addChannel,
  createRecipient,
  deleteChannel,
  deleteRecipient,
  getRecipient,
  listRecipients,
  updateRecipient,
  type RecipientView,
} from '../../notify/recipients.js';
import { ApiError } from '../errors.js';

export interface RecipientRouteDeps {
  pool: Pool;
  notify: NotificationHub;
  config: NotifyConfig;
}

type Query = Record<string, string | undefined>;

/**
 * `/api/v1/recipients` (who hears of alarms, through which channels),
 * `/api/v1/deliveries` (what was sent, with every attempt) and
 * `/api/v1/push/vapid-public-key` (for the PWA's subscription).
 */
export function recipientRoutes(app: FastifyInstance, deps: RecipientRouteDeps): void {
  const { pool, notify, config } = deps;
  const rules = { allowHttp: config.allowHttp };

  app.get('/api/v1/recipients', async () => ({ recipients: await listRecipients(pool) }));

  app.post('/api/v1/recipients', async (req, reply) => {
    const { recipient, channels } = parseNewRecipient(req.body, rules);
    channels.forEach((c) => checkConfigured(notify, c));
    const created = await uniqueChannel(() => createRecipient(pool, recipient, channels));
    return reply.code(201).send(withSecrets(created, channels));
  });

  app.get<{ Params: { id: string } }>('/api/v1/recipients/:id', async (req) =>
    found(await getRecipient(pool, idOf(req.params.id)), req.params.id),
  );

  app.patch<{ Params: { id: string } }>('/api/v1/recipients/:id', async (req) => {
    const id = idOf(req.params.id);
    const current = found(await getRecipient(pool, id), id);
    const next = parseRecipientPatch(req.body, current);
    return found(await updateRecipient(pool, id, next), id);
  });

  app.delete<{ Params: { id: string } }>('/api/v1/recipients/:id', async (req, reply) => {
    const id = idOf(req.params.id);
    if (!(await deleteRecipient(pool, id))) found(undefined, id);
    return reply.code(204).send();
  });

  channelRoutes(app, deps);
  deliveryRoutes(app, deps);
}

/** A recipient's channels, and its test notice. */
function channelRoutes(app: FastifyInstance, deps: RecipientRouteDeps): void {
  const { pool, notify, config } = deps;
  const rules = { allowHttp: config.allowHttp };

  app.post<{ Params: { id: string } }>(
    '/api/v1/recipients/:id/channels',
    async (req, reply) => {
      const id = idOf(req.params.id);
      const input = parseChannel(req.body, rules);
      checkConfigured(notify, input);
      const channel = found(await uniqueChannel(() => addChannel(pool, id, input)), id);
      const body = input.webhookSecret
        ? { ...channel, secret: input.webhookSecret }
        : channel;
      return reply.code(201).send(body);
    },
  );

  app.delete<{ Params: { id: string; channelId: string } }>(
    '/api/v1/recipients/:id/channels/:channelId',
    async (req, reply) => {
      const id = idOf(req.params.id);
      const channelId = idOf(req.params.channelId);
      if (!(await deleteChannel(pool, id, channelId))) {
        throw new ApiError(
          'CHANNEL_NOT_FOUND',
          `Recipient ${id} has no channel ${channelId}.`,
        );
      }
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/recipients/:id/test',
    async (req, reply) => {
      const id = idOf(req.params.id);
      const recipient = found(await getRecipient(pool, id), id);
      const placed = await notify.sendTest(recipient);
      return reply.code(202).send({
        queued: placed.filter((p) => p === 'queued').length,
        coalesced: placed.filter((p) => p === 'coalesced').length,
      });
    },
  );
}

/** What was sent, with every attempt, and the key the PWA subscribes with. */
function deliveryRoutes(app: FastifyInstance, deps: RecipientRouteDeps): void {
  const { pool, config } = deps;

  app.get<{ Params: { id: string }; Querystring: Query }>(
    '/api/v1/recipients/:id/deliveries',
    async (req) => {
      const id = idOf(req.params.id);
      found(await getRecipient(pool, id), id);
      return { deliveries: await listDeliveries(pool, filterOf(req.query, id)) };
    },
  );

  app.get<{ Querystring: Query }>('/api/v1/deliveries', async (req) => ({
    deliveries: await listDeliveries(pool, filterOf(req.query, req.query.recipient)),
  }));

  app.get<{ Params: { id: string } }>('/api/v1/deliveries/:id', async (req) => {
    const delivery = await getDelivery(pool, idOf(req.params.id));
    if (!delivery)
      throw new ApiError('DELIVERY_NOT_FOUND', `No delivery ${req.params.id}.`);
    return delivery;
  });

  app.get('/api/v1/push/vapid-public-key', () => {
    if (!config.push) {
      throw new ApiError(
        'CHANNEL_NOT_CONFIGURED',
        `Web Push is off: ${HOW_TO_CONFIGURE.push}.`,
      );
    }
    return { public_key: config.push.publicKey };
  });
}

function idOf(raw: string | undefined): string {
  if (raw === undefined || !/^\d{1,18}$/.test(raw)) {
    throw new ApiError(
      'BAD_REQUEST',
      `An id is a whole number; got ${JSON.stringify(raw)}.`,
    );
  }
  return raw;
}

function found<T>(value: T | undefined, id: string): T {
  if (value === undefined)
    throw new ApiError('RECIPIENT_NOT_FOUND', `No recipient ${id}.`);
  return value;
}

function checkConfigured(notify: NotificationHub, c: ChannelInput): void {
  if (!notify.channels.has(c.kind)) {
    throw new ApiError(
      'CHANNEL_NOT_CONFIGURED',
      `This server cannot send ${c.kind} messages yet: ${HOW_TO_CONFIGURE[c.kind]}.`,
    );
  }
}

async function uniqueChannel<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if ((err as { code?: string }).code === '23505') {
      throw new ApiError(
        'CHANNEL_EXISTS',
        'The recipient already has this channel (same kind and address).',
      );
    }
    throw err;
  }
}

/** The creation answer: the only time a generated webhook secret is shown. */
function withSecrets(r: RecipientView, inputs: ChannelInput[]): RecipientView {
  const channels = r.channels.map((ch, i) => {
    const secret = inputs[i]?.webhookSecret;
    return secret ? { ...ch, secret } : ch;
  });
  return { ...r, channels };
}

function filterOf(
  q: Query,
  recipientId: string | undefined,
): Parameters<typeof listDeliveries>[1] {
  const limit = q.limit === undefined ? 100 : Number(q.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new ApiError('BAD_REQUEST', 'limit must be a whole number from 1 to 1000.');
  }
  const statuses = ['pending', 'sending', 'sent', 'failed', 'coalesced'];
  if (q.status !== undefined && !statuses.includes(q.status)) {
    throw new ApiError('BAD_REQUEST', `status must be one of ${statuses.join(', ')}.`);
  }
  return {
    limit,
    ...(q.alarm !== undefined ? { alarmId: q.alarm } : {}),
    ...(recipientId !== undefined ? { recipientId: idOf(recipientId) } : {}),
    ...(q.status !== undefined ? { status: q.status } : {}),
  };
}
