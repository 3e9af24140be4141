/**
 * Closing an alarm by hand, for one that cannot clear by itself: the offline alarm
 * of a device taken out of service, the sensor fault of a probe that was removed,
 * an operator alarm about a broker that no longer exists. Who closed it and why are
 * kept: the alarm's last step is `cleared` by that person with the reason as its
 * comment (detail `manual: true`).
 *
 * A temperature excursion whose readings are still out of range is not closed: only
 * a reading back in range ends it. The one exception is a disabled device (taken out
 * of service): no reading of it is evaluated any more, so its excursion could never
 * end. Whether an excursion is still out comes from the device's rule state, read
 * under the same lock the engine takes, so a turn evaluating the device waits for
 * the close, or the close for the turn.
 *
 * Closing also resets the rule's state, so that the next episode of the device (if
 * it is enabled again) raises a new alarm.
 */
import { transaction, type Pool, type PoolClient } from '../db/pool.js';
import { ALARM_COLUMNS, getAlarm, type AlarmRow } from './alarmStore.js';
import { EMPTY_BATTERY } from './battery.js';
import { deviceStateFromJson, type DeviceState } from './deviceState.js';
import { EMPTY_FAULT } from './sensorFault.js';
import { formatTime } from './summary.js';

export type CloseOutcome =
  | { outcome: 'closed'; alarm: AlarmRow }
  | { outcome: 'not_found' }
  | { outcome: 'already_cleared'; alarm: AlarmRow }
  /** A temperature excursion still out of range: `why` says since when. */
  | { outcome: 'still_out'; alarm: AlarmRow; why: string };

const EXCURSION_KINDS = new Set([
  'excursion_high',
  'excursion_low',
  'excursion_immediate',
]);

export async function closeAlarm(
  pool: Pool,
  id: string,
  by: string,
  reason: string,
): Promise<CloseOutcome> {
  const seen = await getAlarm(pool, id);
  if (!seen) return { outcome: 'not_found' };
  return transaction(pool, async (c) => {
    // The device's rule state first, then the alarm: the order the engine locks them in.
    const device = seen.device_id === null ? null : await lockDevice(c, seen.device_id);
    const { rows } = await c.query<AlarmRow>(
      `select ${ALARM_COLUMNS} from alarm where id = $1 for update`,
      [id],
    );
    const alarm = rows[0]!;
    if (alarm.state === 'cleared') return { outcome: 'already_cleared' as const, alarm };
    if (device) {
      const why = device.disabled ? null : stillOut(alarm, device.state);
      if (why !== null) return { outcome: 'still_out' as const, alarm, why };
      await saveState(c, alarm, forget(alarm, device.state));
    }
    return { outcome: 'closed' as const, alarm: await markClosed(c, id, by, reason) };
  });
}

interface LockedDevice {
  state: DeviceState | null;
  disabled: boolean;
}

async function lockDevice(c: PoolClient, deviceId: string): Promise<LockedDevice> {
  const { rows } = await c.query<{ state: unknown }>(
    'select state from alarm_device_state where device_id = $1 for update',
    [deviceId],
  );
  const status = await c.query<{ status: string }>(
    'select status from device where device_id = $1',
    [deviceId],
  );
  return {
    state: rows[0] ? deviceStateFromJson(rows[0].state) : null,
    disabled: status.rows[0]?.status === 'disabled',
  };
}

/** Why the alarm's temperature condition still holds ("<device> is …"), or null when it does not. */
function stillOut(alarm: AlarmRow, state: DeviceState | null): string | null {
  const sensor = state?.sensors[alarm.sensor];
  if (!sensor) return null;
  if (EXCURSION_KINDS.has(alarm.kind)) {
    const e = sensor.excursions[alarm.rule_id];
    if (!e || e.outSince === null) return null;
    const last = e.lastAt === null ? '' : `; last reading ${formatTime(e.lastAt, 'UTC')}`;
    return `out of range since ${formatTime(e.outSince, 'UTC')}${last}`;
  }
  if (alarm.kind === 'cumulative_excursion') {
    const w = sensor.cumulative[alarm.rule_id];
    if (!w?.alarmed || !w.prevOut || w.prevAt === null) return null;
    return `out of range at its last reading, ${formatTime(w.prevAt, 'UTC')}`;
  }
  return null;
}

/** The state without what it remembers of the alarm's episode. */
function forget(alarm: AlarmRow, state: DeviceState | null): DeviceState | null {
  if (!state) return null;
  const next: DeviceState = { ...state, sensors: { ...state.sensors } };
  if (alarm.rule_id === 'low_battery') return { ...next, battery: { ...EMPTY_BATTERY } };
  const sensor = next.sensors[alarm.sensor];
  if (!sensor) return next;
  const s = { ...sensor, excursions: { ...sensor.excursions } };
  if (alarm.rule_id === 'sensor_fault') s.fault = { ...EMPTY_FAULT };
  delete s.excursions[alarm.rule_id];
  const w = sensor.cumulative[alarm.rule_id];
  // Still once a window: `raised` stays, so the same window does not raise it again.
  if (w)
    s.cumulative = { ...sensor.cumulative, [alarm.rule_id]: { ...w, alarmed: false } };
  next.sensors[alarm.sensor] = s;
  return next;
}

async function saveState(
  c: PoolClient,
  alarm: AlarmRow,
  state: DeviceState | null,
): Promise<void> {
  if (!state || alarm.device_id === null) return;
  await c.query(
    'update alarm_device_state set state = $2, updated_at = now() where device_id = $1',
    [alarm.device_id, JSON.stringify(state)],
  );
}

async function markClosed(
  c: PoolClient,
  id: string,
  by: string,
  reason: string,
): Promise<AlarmRow> {
  const { rows } = await c.query<AlarmRow>(
    `with a as (
       update alarm set state = 'cleared', cleared_at = now(),
                        until = coalesce(until, now()),
                        detail = detail || jsonb_build_object('closed_by', $2::text,
                                                              'close_reason', $3::text)
       where id = $1
       returning *),
     act as (insert into alarm_action (alarm_id, action, by, comment, detail)
             select id, 'cleared', $2, $3, '{"manual": true}'::jsonb from a)
     select ${ALARM_COLUMNS} from a`,
    [id, by, reason],
  );
  return rows[0]!;
}
