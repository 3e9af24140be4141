/** A device's readings between two times, by sensor, as reports use them. */
import type { Pool } from '../db/pool.js';
import type { Sample } from './coverage.js';

export interface SensorSamples {
  /** Valid temperatures, by time. */
  valid: Sample[];
  /** Times of readings with quality `invalid`. */
  invalid: number[];
}

/** The readings of `deviceId` in [from, to] (ms), by sensor. */
export async function readSamples(
  pool: Pool,
  deviceId: string,
  from: number,
  to: number,
): Promise<Map<string, SensorSamples>> {
  const { rows } = await pool.query<{
    sensor: string;
    time: Date;
    temperature_c: number | null;
    quality: 'good' | 'invalid';
  }>(
    `select sensor, time, temperature_c, quality from reading
     where device_id = $1 and time >= $2 and time <= $3
     order by sensor, time, id`,
    [deviceId, new Date(from), new Date(to)],
  );
  const out = new Map<string, SensorSamples>();
  for (const r of rows) {
    let s = out.get(r.sensor);
    if (!s) {
      s = { valid: [], invalid: [] };
      out.set(r.sensor, s);
    }
    if (r.quality === 'invalid') s.invalid.push(r.time.getTime());
    else if (r.temperature_c !== null)
      s.valid.push({ time: r.time.getTime(), valueC: r.temperature_c });
  }
  return out;
}
