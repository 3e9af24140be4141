/**
 * Escalation: an alarm still unacknowledged when its `escalate_at` passes is told to
 * the recipients of the next level, and the clock starts again while a higher level
 * remains. Acknowledging stops it (clearing does not: an excursion that ended still
 * needs someone to look at the goods). Each alarm is escalated in its own short
 * transaction, taken with `skip locked`, so several workers share the work.
 */
import type { AlarmEvent, AlarmKind, AlarmSeverity } from '../alarms/events.js';
import { transaction, type Pool } from '../db/pool.js';
import type { NotifyConfig } from './config.js';
import { alarmMessage } from './message.js';
import { place } from './rateLimit.js';
import { limitsOf } from './intake.js';
import { hasHigherLevel, lockChannels, matchTargets } from './targets.js';

interface AlarmRow {
  alarm_id: string;
  kind: AlarmKind;
  severity: AlarmSeverity;
  device_id: string | null;
  site: string | null;
  profile: string | null;
  summary: string;
  since: Date;
  level: number;
}

/** Alarms escalated in one call at most; the rest wait for the next. */
const BATCH = 20;

/** Escalates the alarms whose time has come; returns how many notices were queued. */
export async function escalateDue(pool: Pool, config: NotifyConfig): Promise<number> {
  let queued = 0;
  for (let i = 0; i < BATCH; i += 1) {
    const n = await escalateOne(pool, config);
    if (n === undefined) break;
    queued += n;
  }
  return queued;
}

/** Escalates the most overdue alarm; undefined when none is due. */
async function escalateOne(
  pool: Pool,
  config: NotifyConfig,
): Promise<number | undefined> {
  return transaction(pool, async (c) => {
    const { rows } = await c.query<AlarmRow>(
      `select alarm_id, kind, severity, device_id, site, profile, summary, since, level
       from notify_alarm
       where escalate_at <= now() and acknowledged_at is null
       order by escalate_at limit 1 for update skip locked`,
    );
    const row = rows[0];
    if (!row) return undefined;
    const level = row.level + 1;
    const event = eventOf(row, level);
    const targets = await matchTargets(c, event, { min: level, max: level }, 'raised');
    const more = await hasHigherLevel(c, event, level);
    await c.query(
      `update notify_alarm set level = $2, updated_at = now(),
         escalate_at = case when $3 then now() + make_interval(secs => $4) end
       where alarm_id = $1`,
      [row.alarm_id, level, more, config.escalateAfterSeconds],
    );
    await lockChannels(
      c,
      targets.map((t) => t.channelId),
    );
    const message = alarmMessage(event, 'escalated', level, config.publicUrl);
    let queued = 0;
    for (const t of targets) {
      const { placed } = await place(
        c,
        { ...t, alarmId: row.alarm_id, event: 'escalated', level, message },
        limitsOf(config),
      );
      if (placed !== 'duplicate') queued += 1;
    }
    return queued;
  });
}

function eventOf(row: AlarmRow, level: number): AlarmEvent {
  return {
    type: 'escalated',
    alarmId: row.alarm_id,
    kind: row.kind,
    severity: row.severity,
    deviceId: row.device_id,
    site: row.site,
    profile: row.profile,
    summary: row.summary,
    since: row.since.toISOString(),
    at: new Date().toISOString(),
    level,
  };
}
