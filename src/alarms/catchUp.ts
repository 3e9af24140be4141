/**
 * Readings stored but never evaluated: ingest committed them and the process stopped
 * before the engine's own commit. Each device's state row says up to which receive
 * time its readings were evaluated; what was received after that is evaluated at
 * start. Bounded: readings up to a day behind their device's last evaluation, devices
 * never evaluated only for the last hour, and at most `LIMIT` readings in all.
 */
import type { Pool } from '../db/pool.js';
import type { EngineReading } from './engine.js';

const LIMIT = 100_000;

interface Row {
  device_id: string;
  sensor: string;
  time: Date;
  received_at: Date;
  temperature_c: number | null;
  quality: 'good' | 'invalid';
  flags: string[];
  battery_pct: number | null;
  battery_v: number | null;
}

/** The unevaluated readings, by device and time. */
export async function findUnevaluated(pool: Pool): Promise<EngineReading[]> {
  const { rows } = await pool.query<Row>(
    `with since as (
       select s.device_id, s.evaluated_through as after,
              s.evaluated_through - interval '1 day' as time_from
       from alarm_device_state s where s.evaluated_through is not null
       union all
       select d.device_id, now() - interval '1 hour', now() - interval '1 hour'
       from device d
       where d.last_seen_at > now() - interval '1 hour'
         and not exists (select 1 from alarm_device_state s
                         where s.device_id = d.device_id and s.evaluated_through is not null))
     select r.device_id, r.sensor, r.time, r.received_at, r.temperature_c, r.quality, r.flags,
            r.battery_pct, r.battery_v
     from since
     join reading r on r.device_id = since.device_id and r.time >= since.time_from
                   and r.received_at > since.after
     order by r.device_id, r.time
     limit $1`,
    [LIMIT],
  );
  return rows.map((r) => ({
    deviceId: r.device_id,
    sensor: r.sensor,
    time: r.time.getTime(),
    receivedAt: r.received_at.getTime(),
    temperatureC: r.temperature_c,
    quality: r.quality,
    flags: r.flags,
    batteryPct: r.battery_pct,
    batteryV: r.battery_v,
  }));
}
