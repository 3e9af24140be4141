/**
 * The per-recipient rate limit, channel by channel: at most `count` messages in any
 * `windowSeconds`. Each delivery takes a *slot* (`slot_at`), the moment it counts
 * against the limit. A notice that finds the window full is not dropped: it is kept
 * as a `coalesced` delivery and told in one *digest* delivery, whose slot is the
 * first moment the window has room again. While that digest waits, further notices
 * join it. So a burst of 2,000 alarm notices becomes `count` messages and a digest
 * per window, and every notice is still on record.
 *
 * Callers hold the channel's row lock (`for update`), so two processes never count
 * the same window at the same time.
 */
import type { PoolClient } from '../db/pool.js';
import type { ChannelKind } from './channels/channel.js';
import {
  addToDigest,
  digestMessage,
  type NotifyEventType,
  type NotifyMessage,
} from './message.js';

/** One notice for one channel. */
export interface Placement {
  alarmId: string | null;
  event: NotifyEventType;
  level: number;
  message: NotifyMessage;
  recipientId: string;
  channelId: string;
  kind: ChannelKind;
}

export interface Limits {
  count: number;
  windowSeconds: number;
  timeZone: string;
}

/** What became of a placement. */
export type Placed = 'queued' | 'coalesced' | 'duplicate';

/** A placement's fate, and for `queued` the id of the delivery, due at once. */
export interface PlaceResult {
  placed: Placed;
  deliveryId: string | null;
}

interface SeenRow {
  n: number;
  now: Date;
  placed: boolean;
  id: string | null;
}

/** Queues the notice, or folds it into the channel's digest when the window is full. */
export async function place(
  c: PoolClient,
  p: Placement,
  limits: Limits,
): Promise<PlaceResult> {
  // One round trip in the usual case: was this change already told to this channel,
  // how full is its window, and, when neither stops it, the insert itself.
  const { rows } = await c.query<SeenRow>(
    `with seen as (
       select (select count(*)::int from notify_delivery
               where channel_id = $1 and status <> 'coalesced'
                 and slot_at > now() - make_interval(secs => $2)) as n,
              ($3::text is not null and exists (
                 select 1 from notify_delivery
                 where alarm_id = $3 and event = $4 and level = $5
                   and channel_id = $1)) as placed,
              -- To the millisecond, as nextFreeSlot() reads slots back.
              date_trunc('milliseconds', now()) as at
     ), queued as (
       insert into notify_delivery (alarm_id, event, level, recipient_id, channel_id,
         kind, status, message, slot_at, next_attempt_at)
       select $3, $4, $5, $6, $1, $7, 'pending', $8, seen.at, seen.at
       from seen where not seen.placed and seen.n < $9
       returning id::text
     )
     select seen.n, seen.placed, seen.at as now, (select id from queued) as id from seen`,
    [
      p.channelId,
      limits.windowSeconds,
      p.alarmId,
      p.event,
      p.level,
      p.recipientId,
      p.kind,
      p.message,
      limits.count,
    ],
  );
  const { now, placed, id } = rows[0]!;
  if (placed) return { placed: 'duplicate', deliveryId: null };
  if (id !== null) return { placed: 'queued', deliveryId: id };
  const digestId = await joinDigest(c, p, limits, now);
  await insert(c, p, { status: 'coalesced', slotAt: now, coalescedInto: digestId });
  return { placed: 'coalesced', deliveryId: null };
}

/**
 * The id of the channel's waiting digest, with this notice added; a new digest when
 * none waits. The row lock keeps a worker from claiming the digest between reading
 * and extending it (the claim skips locked rows; a digest claimed first no longer
 * matches `pending` once locked, and a new digest is started).
 */
async function joinDigest(
  c: PoolClient,
  p: Placement,
  limits: Limits,
  now: Date,
): Promise<string> {
  const { rows } = await c.query<{ id: string; message: NotifyMessage }>(
    `select id::text, message from notify_delivery
     where channel_id = $1 and event = 'digest' and status = 'pending'
     order by id limit 1
     for update`,
    [p.channelId],
  );
  const waiting = rows[0];
  if (waiting) {
    await c.query('update notify_delivery set message = $2 where id = $1', [
      waiting.id,
      addToDigest(waiting.message, p.message, limits.timeZone),
    ]);
    return waiting.id;
  }
  const slotAt = await nextFreeSlot(c, p.channelId, limits, now);
  const digest: Placement = {
    ...p,
    alarmId: null,
    event: 'digest',
    level: 0,
    message: digestMessage(p.message, now, limits.timeZone),
  };
  return insert(c, digest, { status: 'pending', slotAt, coalescedInto: null });
}

/**
 * The first moment a new slot keeps every window within the limit: when the
 * `count`-th newest slot has left the window. Any window holding the new slot then
 * holds at most `count - 1` older ones.
 */
async function nextFreeSlot(
  c: PoolClient,
  channelId: string,
  limits: Limits,
  now: Date,
): Promise<Date> {
  const { rows } = await c.query<{ slot_at: Date }>(
    `select slot_at from notify_delivery
     where channel_id = $1 and status <> 'coalesced'
       and slot_at > $2::timestamptz - make_interval(secs => $3)
     order by slot_at desc offset $4 limit 1`,
    [channelId, now, limits.windowSeconds, limits.count - 1],
  );
  const edge = rows[0]?.slot_at;
  if (!edge) return now;
  const free = edge.getTime() + limits.windowSeconds * 1000;
  return new Date(Math.max(now.getTime(), free));
}

async function insert(
  c: PoolClient,
  p: Placement,
  how: { status: 'pending' | 'coalesced'; slotAt: Date; coalescedInto: string | null },
): Promise<string> {
  const { rows } = await c.query<{ id: string }>(
    `insert into notify_delivery (alarm_id, event, level, recipient_id, channel_id, kind,
       status, message, slot_at, next_attempt_at, coalesced_into)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) returning id::text`,
    [
      p.alarmId,
      p.event,
      p.level,
      p.recipientId,
      p.channelId,
      p.kind,
      how.status,
      p.message,
      how.slotAt,
      how.coalescedInto,
    ],
  );
  return rows[0]!.id;
}
