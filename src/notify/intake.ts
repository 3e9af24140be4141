/**
 * Turns alarm events into deliveries, in one transaction per batch of events:
 * keeps the hub's view of each alarm (level, acknowledged, cleared, when to
 * escalate), finds the recipients each change concerns, and places one notice per
 * channel through the rate limit.
 */
import type { AlarmEvent } from '../alarms/events.js';
import { transaction, type Pool, type PoolClient } from '../db/pool.js';
import type { NotifyConfig } from './config.js';
import { claimQueued, type ClaimedDelivery } from './deliveries.js';
import { alarmMessage, testMessage, type NotifyEventType } from './message.js';
import { place, type Limits, type PlaceResult, type Placed } from './rateLimit.js';
import type { NotifyOn } from './recipientInput.js';
import {
  lockChannels,
  TARGET_COLUMNS,
  targetFilter,
  targetParams,
  type Target,
} from './targets.js';

/** One change told to a set of channels. */
interface Plan {
  event: AlarmEvent;
  eventType: NotifyEventType;
  targets: Target[];
}

/** Counts of what became of the notices of a batch. */
export type IntakeCounts = Record<Placed, number>;

/** What a batch became: its counts, and the deliveries queued due at once. */
export interface Intake {
  counts: IntakeCounts;
  /** Ids of the `pending` deliveries this batch queued, due now, and not claimed. */
  queued: string[];
  /** The deliveries claimed in the same transaction (see `RecordOptions.claim`). */
  claimed: ClaimedDelivery[];
}

export interface RecordOptions {
  /**
   * Claim up to `upTo` of the deliveries queued, for `leaseMs`, before the commit:
   * a worker in this process with room sends them as soon as the batch is
   * committed, with no second transaction to claim them.
   */
  claim?: { upTo: number; leaseMs: number };
}

/** Records a batch of alarm events and queues their deliveries. */
export async function recordEvents(
  pool: Pool,
  events: AlarmEvent[],
  config: NotifyConfig,
  options: RecordOptions = {},
): Promise<Intake> {
  return transaction(pool, async (c) => {
    // A lone event takes its channels' locks in the statement that finds them; with
    // several, each would lock in its own order, so they are locked together after.
    const alone = events.length === 1;
    const plans: Plan[] = [];
    for (const event of events) plans.push(await planEvent(c, event, config, alone));
    if (!alone) {
      await lockChannels(
        c,
        plans.flatMap((p) => p.targets.map((t) => t.channelId)),
      );
    }
    const intake: Intake = {
      counts: { queued: 0, coalesced: 0, duplicate: 0 },
      queued: [],
      claimed: [],
    };
    for (const plan of plans) {
      for (const t of plan.targets) {
        // Acknowledged and cleared notices go to each recipient at its own level.
        const level =
          plan.eventType === 'escalated' ? plan.event.level : t.recipientLevel;
        const message = alarmMessage(plan.event, plan.eventType, level, config.publicUrl);
        const { placed, deliveryId } = await place(
          c,
          { ...t, alarmId: plan.event.alarmId, event: plan.eventType, level, message },
          limitsOf(config),
        );
        intake.counts[placed] += 1;
        if (deliveryId !== null) intake.queued.push(deliveryId);
      }
    }
    const { upTo = 0, leaseMs = 0 } = options.claim ?? {};
    if (upTo > 0 && intake.queued.length > 0) {
      intake.claimed = await claimQueued(c, intake.queued.slice(0, upTo), leaseMs);
      const claimed = new Set(intake.claimed.map((d) => d.id));
      intake.queued = intake.queued.filter((id) => !claimed.has(id));
    }
    return intake;
  });
}

/** Updates the hub's view of the alarm and finds who hears of this change. */
async function planEvent(
  c: PoolClient,
  event: AlarmEvent,
  config: NotifyConfig,
  lock: boolean,
): Promise<Plan> {
  // The highest level told: null stands for the alarm's level after this change.
  let levels: { min: number; max: number | null } = { min: 0, max: 0 };
  let notifyOn: NotifyOn = 'raised';
  let eventType: NotifyEventType = 'raised';
  if (event.type === 'escalated') {
    levels = { min: event.level, max: event.level };
    eventType = 'escalated';
  } else if (event.type === 'acknowledged' || event.type === 'cleared') {
    levels = { min: 0, max: null };
    notifyOn = event.type;
    eventType = event.type;
  }
  const targets = await saveAndMatch(c, event, config, { ...levels, notifyOn, lock });
  return { event, eventType, targets };
}

/** A row of saveAndMatch(): a target, or all nulls when the change has none. */
type MatchRow = { [K in keyof Target]: Target[K] | null };

/**
 * In one statement: inserts or updates `notify_alarm` for the event, finds the
 * targets of the change (see matchTargets), and, when `lock`, takes their channels'
 * row locks in id order. A raise starts the escalation clock (not for a historical
 * excursion: the goods are no longer at risk); an acknowledgement stops it.
 */
async function saveAndMatch(
  c: PoolClient,
  e: AlarmEvent,
  config: NotifyConfig,
  how: { min: number; max: number | null; notifyOn: NotifyOn; lock: boolean },
): Promise<Target[]> {
  const { rows } = await c.query<MatchRow>(
    `with alarm as (
       insert into notify_alarm (alarm_id, kind, severity, device_id, site, profile,
         summary, since, level, raised_at, escalate_at, acknowledged_at, cleared_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
         case when $11 = 'raised' and not $13 then now() + make_interval(secs => $12) end,
         case when $11 = 'acknowledged' then $10::timestamptz end,
         case when $11 = 'cleared' then $10::timestamptz end)
       on conflict (alarm_id) do update set
         severity = excluded.severity,
         summary = excluded.summary,
         level = greatest(notify_alarm.level, excluded.level),
         acknowledged_at = coalesce(notify_alarm.acknowledged_at, excluded.acknowledged_at),
         cleared_at = coalesce(notify_alarm.cleared_at, excluded.cleared_at),
         escalate_at = case when $11 = 'acknowledged' then null
                            else notify_alarm.escalate_at end,
         updated_at = now()
       returning level
     ), matched as (
       select ${TARGET_COLUMNS}, ch.id
       from alarm
       cross join notify_recipient r
       join notify_channel ch on ch.recipient_id = r.id
       where ${targetFilter(14, 'coalesce($21::int, alarm.level)')}
     ), locked as (
       select id from notify_channel
       where $22 and id in (select id from matched)
       order by id for update
     )
     select m."recipientId", m."recipientLevel", m."channelId", m.kind,
            (select count(*) from locked) as locked
     from alarm left join matched m on true
     order by m.id`,
    [
      e.alarmId,
      e.kind,
      e.severity,
      e.deviceId,
      e.site,
      e.profile,
      e.summary,
      e.since,
      e.type === 'escalated' ? e.level : 0,
      e.at,
      e.type,
      config.escalateAfterSeconds,
      e.historical === true,
      how.min,
      ...targetParams(e, how.notifyOn),
      how.max,
      how.lock,
    ],
  );
  return rows.flatMap((r) =>
    r.recipientId !== null &&
    r.recipientLevel !== null &&
    r.channelId !== null &&
    r.kind !== null
      ? [
          {
            recipientId: r.recipientId,
            recipientLevel: r.recipientLevel,
            channelId: r.channelId,
            kind: r.kind,
          },
        ]
      : [],
  );
}

/** Queues a test notice to every live channel of one recipient; returns the deliveries' ids. */
export async function queueTest(
  pool: Pool,
  recipient: {
    id: string;
    name: string;
    channels: Array<{ id: string; kind: Target['kind']; enabled: boolean }>;
  },
  config: NotifyConfig,
): Promise<PlaceResult[]> {
  return transaction(pool, async (c) => {
    const live = recipient.channels.filter((ch) => ch.enabled);
    await lockChannels(
      c,
      live.map((ch) => ch.id),
    );
    const placed: PlaceResult[] = [];
    for (const ch of live) {
      placed.push(
        await place(
          c,
          {
            alarmId: null,
            event: 'test',
            level: 0,
            message: testMessage(recipient.name, new Date()),
            recipientId: recipient.id,
            channelId: ch.id,
            kind: ch.kind,
          },
          limitsOf(config),
        ),
      );
    }
    return placed;
  });
}

export function limitsOf(config: NotifyConfig): Limits {
  return { ...config.rateLimit, timeZone: config.timeZone };
}
