/**
 * The registry's rows in `device`, and `device_change`, the record of who changed
 * what. Every change and its record are one transaction.
 */
import { transaction, type Pool, type PoolClient } from '../db/pool.js';
import type {
  CredentialKind,
  RegistrationStatus,
  Registration,
  RegistryFields,
  RegistryPatch,
} from './registration.js';

/** A device's registry fields as the API shows them. */
export interface RegistryRow {
  device_id: string;
  status: RegistrationStatus;
  site: string | null;
  credentials: CredentialKind | null;
  cert_fingerprint: string | null;
  registered_at: Date | null;
  registered_by: string | null;
}

const COLUMNS = `device_id, status, site, credentials, cert_fingerprint, registered_at,
  registered_by`;

export type RegisterOutcome =
  | { outcome: 'registered'; row: RegistryRow }
  | { outcome: 'already_registered'; row: RegistryRow };

/**
 * Registers a device: a new row, or the registry fields of a row ingest created
 * when the device first reported (its counters stay). Refuses a device already
 * registered; its status is kept (a device disabled before is not enabled by this).
 */
export async function registerDevice(
  pool: Pool,
  r: Registration,
): Promise<RegisterOutcome> {
  return transaction(pool, async (c) => {
    const f = r.fields;
    const { rows } = await c.query<RegistryRow>(
      `insert into device as d (device_id, status, site, credentials, cert_fingerprint,
                                registered_at, registered_by)
       values ($1, coalesce($2, 'active'), $3, $4, $5, now(), $6)
       on conflict (device_id) do update set
         status = coalesce($2, d.status), site = excluded.site,
         credentials = excluded.credentials, cert_fingerprint = excluded.cert_fingerprint,
         registered_at = excluded.registered_at, registered_by = excluded.registered_by
       where d.registered_at is null
       returning ${COLUMNS}`,
      [
        r.deviceId,
        f.status ?? null,
        f.site ?? null,
        f.credentials,
        f.certFingerprint ?? null,
        r.by,
      ],
    );
    const row = rows[0];
    if (!row) {
      const existing = await getRegistration(c, r.deviceId);
      return { outcome: 'already_registered' as const, row: existing! };
    }
    await record(c, r.by, r.deviceId, 'registered', null, row, r.comment);
    return { outcome: 'registered' as const, row };
  });
}

/** Changes a device's registry fields; undefined when there is no such device. */
export async function updateDevice(
  pool: Pool,
  deviceId: string,
  patch: RegistryPatch,
): Promise<RegistryRow | undefined> {
  return transaction(pool, async (c) => {
    const old = await getRegistration(c, deviceId, true);
    if (!old) return undefined;
    const f: RegistryFields = patch.fields;
    const { rows } = await c.query<RegistryRow>(
      `update device set
         status = coalesce($2, status),
         site = case when $3 then $4 else site end,
         credentials = coalesce($5, credentials),
         cert_fingerprint = case when $6 then $7 else cert_fingerprint end
       where device_id = $1
       returning ${COLUMNS}`,
      [
        deviceId,
        f.status ?? null,
        f.site !== undefined,
        f.site ?? null,
        f.credentials ?? null,
        f.certFingerprint !== undefined,
        f.certFingerprint ?? null,
      ],
    );
    const row = rows[0]!;
    const action =
      old.status === row.status
        ? 'updated'
        : row.status === 'disabled'
          ? 'disabled'
          : 'enabled';
    await record(c, patch.by, deviceId, action, old, row, patch.comment);
    return row;
  });
}

/** One device's registry fields; `lock` holds its row until the transaction ends. */
export async function getRegistration(
  db: Pool | PoolClient,
  deviceId: string,
  lock = false,
): Promise<RegistryRow | undefined> {
  const { rows } = await db.query<RegistryRow>(
    `select ${COLUMNS} from device where device_id = $1${lock ? ' for update' : ''}`,
    [deviceId],
  );
  return rows[0];
}

/** Every device an operator registered or disabled, by id. */
export async function listRegistered(pool: Pool): Promise<RegistryRow[]> {
  const { rows } = await pool.query<RegistryRow>(
    `select ${COLUMNS} from device
     where registered_at is not null or status <> 'active'
     order by device_id`,
  );
  return rows;
}

/** One change of a device's registry fields: who, when, what it was and became. */
export interface DeviceChangeRow {
  at: Date;
  by: string;
  action: 'registered' | 'updated' | 'disabled' | 'enabled';
  old: Record<string, unknown> | null;
  new: Record<string, unknown>;
  comment: string | null;
}

/** The record of one device's registry changes, oldest first. */
export async function listDeviceChanges(
  pool: Pool,
  deviceId: string,
): Promise<DeviceChangeRow[]> {
  const { rows } = await pool.query<DeviceChangeRow>(
    `select at, by, action, old, new, comment from device_change
     where device_id = $1 order by id`,
    [deviceId],
  );
  return rows;
}

async function record(
  c: PoolClient,
  by: string,
  deviceId: string,
  action: 'registered' | 'updated' | 'disabled' | 'enabled',
  old: RegistryRow | null,
  now: RegistryRow,
  comment: string | null,
): Promise<void> {
  await c.query(
    `insert into device_change (by, device_id, action, old, new, comment)
     values ($1, $2, $3, $4, $5, $6)`,
    [by, deviceId, action, old && fieldsOf(old), fieldsOf(now), comment],
  );
}

function fieldsOf(r: RegistryRow): Record<string, unknown> {
  return {
    status: r.status,
    site: r.site,
    credentials: r.credentials,
    cert_fingerprint: r.cert_fingerprint,
  };
}
