/**
 * Status messages in the ingest commit (see ingestBatch.ts): which raw messages are
 * status messages, and the `device_status` upsert of what they said. One row per
 * device a commit, so that one statement never updates a row twice; each value is
 * taken from the device's latest message that carries it, and replaces the stored one
 * only when it is newer.
 */
import type { DecodedMessage } from '../ingest/decoder.js';
import type { Pool } from './pool.js';
import { numberArray, textArray, timeArray } from './pgArray.js';

/** Positions (1-based) of the status messages of a batch; quarantined ones are not. */
export function statusPositions(batch: readonly DecodedMessage[]): string {
  const at: number[] = [];
  batch.forEach((m, i) => {
    if (m.status && !m.quarantine) at.push(i + 1);
  });
  return numberArray(at);
}

/**
 * The upsert of device_status, for a statement whose parameters `$first` to
 * `$first + 5` are deviceStatusColumns(batch).
 */
export function deviceStatusSql(first: number): string {
  const $ = (k: number): string => `$${first + k}`;
  return `insert into device_status as s (device_id, online, online_at, rssi_dbm, rssi_at,
                                updated_at)
  select * from unnest(${$(0)}::text[], ${$(1)}::boolean[], ${$(2)}::timestamptz[],
                       ${$(3)}::integer[], ${$(4)}::timestamptz[], ${$(5)}::timestamptz[])
   order by 1
  on conflict (device_id) do update set
    online = case when excluded.online_at >= s.online_at or s.online_at is null
                  then coalesce(excluded.online, s.online) else s.online end,
    online_at = greatest(s.online_at, excluded.online_at),
    rssi_dbm = case when excluded.rssi_at >= s.rssi_at or s.rssi_at is null
                    then coalesce(excluded.rssi_dbm, s.rssi_dbm) else s.rssi_dbm end,
    rssi_at = greatest(s.rssi_at, excluded.rssi_at),
    updated_at = greatest(s.updated_at, excluded.updated_at)`;
}

interface Latest {
  online: boolean | null;
  onlineAt: Date | null;
  rssi: number | null;
  rssiAt: Date | null;
  at: Date;
}

/** Six columns: device, online, online_at, rssi_dbm, rssi_at, updated_at. */
export function deviceStatusColumns(batch: readonly DecodedMessage[]): string[] {
  const byDevice = new Map<string, Latest>();
  for (const m of batch) {
    if (!m.status || m.quarantine || m.deviceId === null) continue;
    const at = m.message.receivedAt;
    let d = byDevice.get(m.deviceId);
    if (!d) {
      d = { online: null, onlineAt: null, rssi: null, rssiAt: null, at };
      byDevice.set(m.deviceId, d);
    }
    if (at > d.at) d.at = at;
    if (m.status.online !== undefined && (d.onlineAt === null || at >= d.onlineAt)) {
      d.online = m.status.online;
      d.onlineAt = at;
    }
    if (m.status.rssiDbm !== undefined && (d.rssiAt === null || at >= d.rssiAt)) {
      d.rssi = m.status.rssiDbm;
      d.rssiAt = at;
    }
  }
  const rows = [...byDevice];
  const flag = (v: boolean | null): string | null => (v === null ? null : v ? 't' : 'f');
  return [
    textArray(rows.map(([id]) => id)),
    textArray(rows.map(([, d]) => flag(d.online))),
    timeArray(rows.map(([, d]) => d.onlineAt)),
    numberArray(rows.map(([, d]) => d.rssi)),
    timeArray(rows.map(([, d]) => d.rssiAt)),
    timeArray(rows.map(([, d]) => d.at)),
  ];
}

/** What a device last said of itself, as the API shows it. */
export interface DeviceStatusRow {
  device_id: string;
  online: boolean | null;
  online_at: Date | null;
  rssi_dbm: number | null;
  rssi_at: Date | null;
  updated_at: Date;
}

export async function getDeviceStatus(
  pool: Pool,
  deviceId: string,
): Promise<DeviceStatusRow | undefined> {
  const { rows } = await pool.query<DeviceStatusRow>(
    `select device_id, online, online_at, rssi_dbm, rssi_at, updated_at
       from device_status where device_id = $1`,
    [deviceId],
  );
  return rows[0];
}
