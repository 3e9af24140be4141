import type { Pool } from './pool.js';

/** A stored reading as the API shows it; ids are strings (64-bit). */
export interface ReadingRow {
  id: string;
  device_id: string;
  sensor: string;
  time: Date;
  time_source: 'device' | 'server';
  device_time: Date | null;
  received_at: Date;
  boot: string | null;
  seq: string | null;
  temperature_c: number | null;
  humidity_pct: number | null;
  battery_pct: number | null;
  battery_v: number | null;
  rssi_dbm: number | null;
  quality: 'good' | 'invalid';
  flags: string[];
  raw_message_id: string;
}

const COLUMNS = `id::text, device_id, sensor, time, time_source, device_time, received_at,
  boot::text, seq::text, temperature_c, humidity_pct, battery_pct, battery_v, rssi_dbm,
  quality, flags, raw_message_id::text`;

export interface ReadingQuery {
  deviceId: string;
  from: Date;
  to: Date;
  limit: number;
  /** Continue after this (time, id), from the previous page. */
  after?: { time: Date; id: string };
}

/** A device's readings in [from, to), in time order, one page at a time. */
export async function listReadings(pool: Pool, q: ReadingQuery): Promise<ReadingRow[]> {
  const { rows } = await pool.query<ReadingRow>(
    `select ${COLUMNS} from reading
     where device_id = $1 and time >= $2 and time < $3
       and ($5::timestamptz is null or (time, id) > ($5, $6::bigint))
     order by time, id
     limit $4`,
    [q.deviceId, q.from, q.to, q.limit, q.after?.time ?? null, q.after?.id ?? null],
  );
  return rows;
}

export async function getReading(
  pool: Pool,
  id: string,
): Promise<ReadingRow | undefined> {
  const { rows } = await pool.query<ReadingRow>(
    `select ${COLUMNS} from reading where id = $1`,
    [id],
  );
  return rows[0];
}
