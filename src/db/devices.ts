import type { Pool } from './pool.js';

/** A device as the API shows it. */
export interface DeviceRow {
  device_id: string;
  /** Null for a device registered that has not reported yet. */
  first_seen_at: Date | null;
  last_seen_at: Date | null;
  last_reading_at: Date | null;
  message_count: number;
  reading_count: number;
  duplicate_count: number;
  quarantined_count: number;
  quarantined_by_reason: Record<string, number>;
  /** Registry fields (src/devices/registryStore.ts); null when nobody registered it. */
  status: 'active' | 'disabled';
  site: string | null;
  credentials: 'certificate' | 'password' | 'none' | null;
  cert_fingerprint: string | null;
  registered_at: Date | null;
  registered_by: string | null;
}

const SELECT = `
  select d.device_id, d.first_seen_at, d.last_seen_at, d.last_reading_at,
         d.message_count::float8 as message_count, d.reading_count::float8 as reading_count,
         d.duplicate_count::float8 as duplicate_count,
         d.quarantined_count::float8 as quarantined_count,
         coalesce((select jsonb_object_agg(q.reason, q.count)
                   from device_quarantine_count q where q.device_id = d.device_id),
                  '{}'::jsonb) as quarantined_by_reason,
         d.status, d.site, d.credentials, d.cert_fingerprint, d.registered_at,
         d.registered_by
  from device d`;

export async function listDevices(pool: Pool): Promise<DeviceRow[]> {
  const { rows } = await pool.query<DeviceRow>(`${SELECT} order by d.device_id`);
  return rows;
}

export async function getDevice(pool: Pool, id: string): Promise<DeviceRow | undefined> {
  const { rows } = await pool.query<DeviceRow>(`${SELECT} where d.device_id = $1`, [id]);
  return rows[0];
}
