import type { AlarmKind, AlarmSeverity } from '../alarms/events.js';
import type { PoolClient } from '../db/pool.js';
import type { ChannelKind } from './channels/channel.js';
import { severityRank } from './message.js';
import type { NotifyOn } from './recipientInput.js';

/** What decides who hears of an alarm. */
export interface AlarmScope {
  kind: AlarmKind;
  severity: AlarmSeverity;
  deviceId: string | null;
  site: string | null;
  profile: string | null;
}

/** One live channel of one matching recipient. */
export interface Target {
  recipientId: string;
  recipientLevel: number;
  channelId: string;
  kind: ChannelKind;
}

/**
 * The enabled channels of the enabled recipients, with an escalation level in
 * [minLevel, maxLevel], that want this change (`notifyOn`) of this alarm: its kind,
 * a severity at or above theirs, and a scope that covers it (all, or its site,
 * profile or device). Ordered by channel id, the order their locks are taken in.
 */
export async function matchTargets(
  c: PoolClient,
  alarm: AlarmScope,
  levels: { min: number; max: number },
  notifyOn: NotifyOn,
): Promise<Target[]> {
  const { rows } = await c.query<Target>(
    `select ${TARGET_COLUMNS}
     from notify_recipient r
     join notify_channel ch on ch.recipient_id = r.id
     where ${targetFilter(1, '$8')}
     order by ch.id`,
    [levels.min, ...targetParams(alarm, notifyOn), levels.max],
  );
  return rows;
}

/** The columns of a Target, from `notify_recipient r` and `notify_channel ch`. */
export const TARGET_COLUMNS = `r.id::text as "recipientId", r.level as "recipientLevel",
            ch.id::text as "channelId", ch.kind`;

/**
 * The condition matchTargets applies, for use inside a larger statement: `$first` is
 * the lowest level, `maxLevel` an SQL expression for the highest, and the six
 * parameters from `$first + 1` on are targetParams().
 */
export function targetFilter(first: number, maxLevel: string): string {
  const $ = (i: number): string => `$${first + i}`;
  return `r.deleted_at is null and r.enabled
       and ch.deleted_at is null and ch.enabled
       and r.level between ${$(0)} and ${maxLevel}
       and ${$(1)} = any (r.notify_on)
       and (case r.min_severity when 'info' then 0 when 'warning' then 1 else 2 end) <= ${$(2)}
       and (r.alarm_kinds is null or ${$(3)} = any (r.alarm_kinds))
       and (r.scope = 'all'
            or (r.scope = 'site' and r.scope_value = ${$(4)})
            or (r.scope = 'profile' and r.scope_value = ${$(5)})
            or (r.scope = 'device' and r.scope_value = ${$(6)}))`;
}

/** The parameters of targetFilter() after the lowest level, in order. */
export function targetParams(alarm: AlarmScope, notifyOn: NotifyOn): unknown[] {
  return [
    notifyOn,
    severityRank(alarm.severity),
    alarm.kind,
    alarm.site,
    alarm.profile,
    alarm.deviceId,
  ];
}

/** True when some recipient above `level` would hear of this alarm's escalation. */
export async function hasHigherLevel(
  c: PoolClient,
  alarm: AlarmScope,
  level: number,
): Promise<boolean> {
  const targets = await matchTargets(c, alarm, { min: level + 1, max: 9 }, 'raised');
  return targets.length > 0;
}

/** Takes the row locks of these channels, lowest id first, so that concurrent intakes never deadlock. */
export async function lockChannels(c: PoolClient, channelIds: string[]): Promise<void> {
  if (channelIds.length === 0) return;
  const ids = [...new Set(channelIds)].sort((a, b) => Number(a) - Number(b));
  await c.query(
    'select id from notify_channel where id = any ($1::bigint[]) order by id for update',
    [ids],
  );
}
