/**
 * Devices that stopped reporting. A device is silent from its last message, from
 * when it was registered or given its profile (if it never reported), or from the end
 * of the last outage, whichever is latest; it is overdue once silent for its
 * profile's offline minutes. The watchdog finds it on a timer, so a device that sends
 * nothing at all is found too. Disabled devices (device registry) are not watched.
 *
 * Many devices falling silent at once is the broker, the network or ingest, not the
 * devices: when at least `fleetMin` of them, and at least half of those watched, are
 * overdue, one operator alarm (`fleet_silent`) is raised instead of one each, and no
 * device alarm is raised while any operator alarm is active. The fleet alarm clears
 * when any device speaks again. A device's own alarm clears when it speaks again
 * (the engine does that with the reading). A device that fell silent while its
 * readings were out of range gets an offline alarm that says so, as severe as the
 * excursion rule (lastOut.ts).
 */
import type { PoolClient } from '../db/pool.js';
import { raiseAlarms } from './alarmStore.js';
import {
  lastOutDetail,
  lastOutOfRange,
  lastOutText,
  offlineSeverity,
} from './lastOut.js';
import { clearOperator, OPERATOR_RULES, raiseOperator, type Change } from './outage.js';
import { DEFAULT_PROFILE } from './profile.js';
import { formatTime } from './summary.js';

interface Watched {
  device_id: string;
  site: string | null;
  silent_since: Date;
  minutes: number;
  profile: string;
}

/** Raises the offline alarms now due, or one fleet alarm; clears the fleet alarm when devices speak. */
export async function checkOffline(
  c: PoolClient,
  now: Date,
  fleetMin: number,
): Promise<Change[]> {
  const changes = await clearFleetWhenHeard(c, now);
  if (changes.length > 0 || (await operatorAlarmActive(c))) return changes;
  const watched = await watchedDevices(c);
  const overdue = watched.filter(
    (w) => now.getTime() - w.silent_since.getTime() >= w.minutes * 60_000,
  );
  if (overdue.length >= fleetMin && overdue.length * 2 >= watched.length) {
    const since = new Date(Math.min(...overdue.map((w) => w.silent_since.getTime())));
    const summary =
      `${overdue.length} of ${watched.length} devices silent since ` +
      `${formatTime(since.getTime(), 'UTC')}: a broker, network or ingest outage?`;
    return raiseOperator(c, 'fleet_silent', since, summary, {
      devices: overdue.length,
      watched: watched.length,
      sample: overdue.slice(0, 20).map((w) => w.device_id),
    });
  }
  const outs = await lastOutOfRange(
    c,
    overdue.map((w) => w.device_id),
  );
  const raised = await raiseAlarms(
    c,
    overdue.map((w) => {
      const out = outs.get(w.device_id) ?? [];
      return {
        deviceId: w.device_id,
        sensor: '',
        ruleId: 'offline',
        kind: 'device_offline' as const,
        severity: offlineSeverity(out),
        profile: w.profile,
        site: w.site,
        since: w.silent_since,
        summary:
          `${w.device_id} silent since ${formatTime(w.silent_since.getTime(), 'UTC')} ` +
          `(no message for ${w.minutes} min)${lastOutText(out)}`,
        detail: {
          minutes: w.minutes,
          ...(out.length > 0 ? { out_of_range: lastOutDetail(out) } : {}),
        },
      };
    }),
  );
  for (const row of raised) changes.push({ type: 'raised', row });
  return changes;
}

/** Devices with an offline rule and no offline alarm active, with when they went silent. */
async function watchedDevices(c: PoolClient): Promise<Watched[]> {
  const { rows } = await c.query<Watched>(
    `with ids as (select device_id from device union select device_id from device_profile)
     select ids.device_id, p.name as profile, d.site,
            (p.rules -> 'offline' ->> 'minutes')::float8 as minutes,
            greatest(d.last_seen_at, d.registered_at, dp.assigned_at, w.monitoring_since)
              as silent_since
     from ids
     left join device d on d.device_id = ids.device_id
     left join device_profile dp on dp.device_id = ids.device_id
     join profile p on p.name = coalesce(dp.profile, $1)
     cross join alarm_watchdog w
     where jsonb_typeof(p.rules -> 'offline') = 'object'
       and coalesce(d.status, 'active') <> 'disabled'
       and not exists (select 1 from alarm a
                       where coalesce(a.device_id, '') = ids.device_id and a.sensor = ''
                         and a.rule_id = 'offline' and a.state <> 'cleared'
                         and not a.historical)`,
    [DEFAULT_PROFILE],
  );
  return rows;
}

async function operatorAlarmActive(c: PoolClient): Promise<boolean> {
  const { rows } = await c.query(
    `select 1 from alarm
     where coalesce(device_id, '') = '' and rule_id = any($1) and state <> 'cleared'
       and not historical limit 1`,
    [OPERATOR_RULES],
  );
  return rows.length > 0;
}

async function clearFleetWhenHeard(c: PoolClient, now: Date): Promise<Change[]> {
  const { rows } = await c.query(
    `select 1 from alarm a
     where coalesce(a.device_id, '') = '' and a.rule_id = 'fleet_silent'
       and a.state <> 'cleared' and not a.historical
       and exists (select 1 from device d where d.last_seen_at > a.raised_at)`,
  );
  return rows.length > 0 ? clearOperator(c, 'fleet_silent', now) : [];
}
