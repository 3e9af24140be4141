/**
 * The outbox: claiming due deliveries for a worker and recording each attempt.
 *
 * A claimed delivery turns `sending` and its `next_attempt_at` becomes the end of
 * its lease; a worker that dies mid-send leaves it `sending`, and once the lease has
 * passed the next worker claims it like a pending one. So a message is sent at
 * least once; webhook receivers tell a second copy by its delivery id.
 */
import { transaction, type Pool, type PoolClient } from '../db/pool.js';
import type { ChannelKind, ChannelTarget, SendResult } from './channels/channel.js';
import type { NotifyMessage } from './message.js';

/** A delivery a worker holds, with what its channel needs. */
export interface ClaimedDelivery {
  id: string;
  attempt: number;
  kind: ChannelKind;
  message: NotifyMessage;
  createdAt: Date;
  /** False when the channel or recipient was removed or disabled since it was queued. */
  live: boolean;
  target: ChannelTarget;
}

interface ClaimRow {
  id: string;
  attempts: number;
  kind: ChannelKind;
  message: NotifyMessage;
  created_at: Date;
  live: boolean;
  channel_id: string;
  address: string;
  push_p256dh: string | null;
  push_auth: string | null;
  webhook_secret: string | null;
  recipient_id: string;
  recipient_name: string;
}

/** Claims up to `limit` due deliveries, oldest due first, for `leaseMs`. */
export async function claimDue(
  pool: Pool,
  limit: number,
  leaseMs: number,
): Promise<ClaimedDelivery[]> {
  const due = `select id from notify_delivery
       where status in ('pending', 'sending') and next_attempt_at <= now()
       order by next_attempt_at limit $1
       for update skip locked`;
  return claim(pool, due, [limit, leaseMs]);
}

/**
 * Claims these deliveries, for `leaseMs`, those of them still due and not held by
 * another worker: the hand-off of what this process has just queued, which need
 * not wait for claimDue() to find it. Given the transaction that queued them, the
 * claim commits with the queueing: they leave it `sending`, held by this process.
 */
export async function claimQueued(
  db: Pool | PoolClient,
  ids: readonly string[],
  leaseMs: number,
): Promise<ClaimedDelivery[]> {
  const due = `select id from notify_delivery
       where id = any ($1::bigint[]) and status = 'pending' and next_attempt_at <= now()
       order by id
       for update skip locked`;
  return claim(db, due, [ids, leaseMs]);
}

/** Turns the rows `due` selects (`$2` is the lease) into `sending` ones, with their targets. */
async function claim(
  db: Pool | PoolClient,
  due: string,
  params: unknown[],
): Promise<ClaimedDelivery[]> {
  const { rows } = await db.query<ClaimRow>(
    `with due as (
       ${due}
     ), claimed as (
       update notify_delivery d
       set status = 'sending', attempts = d.attempts + 1,
           next_attempt_at = now() + make_interval(secs => $2::float8 / 1000)
       from due where d.id = due.id
       returning d.id, d.attempts, d.kind, d.message, d.created_at, d.channel_id, d.recipient_id
     )
     select cl.id::text, cl.attempts, cl.kind, cl.message, cl.created_at,
            (ch.enabled and ch.deleted_at is null and r.enabled and r.deleted_at is null) as live,
            ch.id::text as channel_id, ch.address, ch.push_p256dh, ch.push_auth,
            ch.webhook_secret, r.id::text as recipient_id, r.name as recipient_name
     from claimed cl
     join notify_channel ch on ch.id = cl.channel_id
     join notify_recipient r on r.id = cl.recipient_id`,
    params,
  );
  return rows.map(toClaimed);
}

function toClaimed(r: ClaimRow): ClaimedDelivery {
  const target: ChannelTarget = {
    id: r.channel_id,
    kind: r.kind,
    address: r.address,
    recipient: { id: r.recipient_id, name: r.recipient_name },
  };
  if (r.push_p256dh && r.push_auth)
    target.pushKeys = { p256dh: r.push_p256dh, auth: r.push_auth };
  if (r.webhook_secret) target.webhookSecret = r.webhook_secret;
  return {
    id: r.id,
    attempt: r.attempts,
    kind: r.kind,
    message: r.message,
    createdAt: r.created_at,
    live: r.live,
    target,
  };
}

/** How an attempt ends up: the delivery's next state. */
export interface Verdict {
  status: 'sent' | 'failed' | 'pending';
  /** For `pending`: when to try again. */
  nextAttemptAt?: Date;
  error?: string;
}

/** Records one attempt and moves the delivery on; disables a channel that is gone. */
export async function recordAttempt(
  pool: Pool,
  d: ClaimedDelivery,
  timing: { startedAt: Date; durationMs: number },
  result: SendResult,
  verdict: Verdict,
): Promise<void> {
  await transaction(pool, async (c) => {
    await c.query(
      `insert into notify_attempt (delivery_id, attempt, started_at, duration_ms, outcome,
         response_code, provider_ref, error)
       values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        d.id,
        d.attempt,
        timing.startedAt,
        Math.round(timing.durationMs),
        result.outcome,
        result.responseCode ?? null,
        result.providerRef ?? null,
        result.error ?? null,
      ],
    );
    // Only while this worker still holds it: after a lost lease another attempt owns the row.
    await c.query(
      `update notify_delivery
       set status = $3, next_attempt_at = coalesce($4, next_attempt_at), last_error = $5,
           finished_at = case when $3 = 'pending' then null else now() end
       where id = $1 and status = 'sending' and attempts = $2`,
      [
        d.id,
        d.attempt,
        verdict.status,
        verdict.nextAttemptAt ?? null,
        verdict.error ?? null,
      ],
    );
    if (result.channelGone) {
      await c.query(
        `update notify_channel set enabled = false, disabled_reason = $2
         where id = $1 and enabled`,
        [d.target.id, result.error ?? 'the channel is gone'],
      );
    }
  });
}
