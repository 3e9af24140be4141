import type { Pool } from '../db/pool.js';
import {
  SENSOR_KINDS,
  type DeviceSettings,
  type SensorKind,
} from '../ingest/codecs/deviceSettings.js';
import { zoneProblem } from '../ingest/codecs/timeZones.js';
import { MappingError } from './mappingError.js';

/** A device's settings as stored, as the API shows them. */
export interface StoredDeviceSetting {
  device_id: string;
  time_zone: string | null;
  unit: 'C' | 'F' | null;
  sensor_kinds: Record<string, SensorKind>;
  updated_at: Date;
  updated_by: string;
}

/** What may be set: each field null (or absent) for the default. */
export interface DeviceSettingInput {
  time_zone: string | null;
  unit: 'C' | 'F' | null;
  sensor_kinds: Record<string, SensorKind>;
}

const MAX_SENSOR_KINDS = 64;

/**
 * Checks `{"time_zone": "Europe/Berlin", "unit": "C", "sensor_kinds": {"probe_a":
 * "temperature"}}`; throws a MappingError saying what is wrong.
 */
export function parseDeviceSetting(body: Record<string, unknown>): DeviceSettingInput {
  const unknown = Object.keys(body).filter(
    (k) => !['time_zone', 'unit', 'sensor_kinds', 'by', 'comment'].includes(k),
  );
  if (unknown.length > 0)
    throw new MappingError(
      `unknown setting ${unknown.map((k) => JSON.stringify(k)).join(', ')}`,
    );
  const zone = body.time_zone ?? null;
  if (zone !== null && typeof zone !== 'string')
    throw new MappingError('time_zone must be a string such as "Europe/Berlin", or null');
  const problem = zone === null ? undefined : zoneProblem(zone);
  if (problem !== undefined) throw new MappingError(`time_zone: ${problem}`);
  const unit = body.unit ?? null;
  if (unit !== null && unit !== 'C' && unit !== 'F')
    throw new MappingError('unit must be "C", "F" or null');
  return { time_zone: zone, unit, sensor_kinds: sensorKinds(body.sensor_kinds ?? {}) };
}

function sensorKinds(v: unknown): Record<string, SensorKind> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new MappingError(
      'sensor_kinds must be an object such as {"probe_a": "temperature"}',
    );
  const entries = Object.entries(v);
  if (entries.length > MAX_SENSOR_KINDS)
    throw new MappingError(`sensor_kinds names at most ${MAX_SENSOR_KINDS} sensors`);
  const out: Record<string, SensorKind> = {};
  for (const [name, kind] of entries) {
    if (name.length === 0 || name.length > 64)
      throw new MappingError('a sensor name in sensor_kinds is 1–64 characters');
    if (!isSensorKind(kind))
      throw new MappingError(
        `sensor_kinds.${name} must be one of ${SENSOR_KINDS.join(', ')}`,
      );
    out[name] = kind;
  }
  return out;
}

function isSensorKind(v: unknown): v is SensorKind {
  return (SENSOR_KINDS as readonly unknown[]).includes(v);
}

const COLUMNS = 'device_id, time_zone, unit, sensor_kinds, updated_at, updated_by';

export async function getDeviceSetting(
  pool: Pool,
  deviceId: string,
): Promise<StoredDeviceSetting | undefined> {
  const { rows } = await pool.query<StoredDeviceSetting>(
    `select ${COLUMNS} from device_setting where device_id = $1`,
    [deviceId],
  );
  return rows[0];
}

/** Replaces a device's settings. */
export async function putDeviceSetting(
  pool: Pool,
  deviceId: string,
  s: DeviceSettingInput,
  by: string,
): Promise<StoredDeviceSetting> {
  const { rows } = await pool.query<StoredDeviceSetting>(
    `insert into device_setting (device_id, time_zone, unit, sensor_kinds, updated_by)
     values ($1, $2, $3, $4, $5)
     on conflict (device_id) do update set time_zone = excluded.time_zone,
       unit = excluded.unit, sensor_kinds = excluded.sensor_kinds,
       updated_at = now(), updated_by = excluded.updated_by
     returning ${COLUMNS}`,
    [deviceId, s.time_zone, s.unit, JSON.stringify(s.sensor_kinds), by],
  );
  return rows[0]!;
}

/** Every device's settings, as ingest uses them. */
export async function loadDeviceSettings(
  pool: Pool,
): Promise<Map<string, DeviceSettings>> {
  const { rows } = await pool.query<StoredDeviceSetting>(
    `select ${COLUMNS} from device_setting`,
  );
  const out = new Map<string, DeviceSettings>();
  for (const r of rows) {
    // Values written by hand that this server cannot use are left out, not fatal.
    const kinds = Object.entries(r.sensor_kinds ?? {}).filter(([, k]) => isSensorKind(k));
    const s: DeviceSettings = { sensorKinds: Object.fromEntries(kinds) };
    if (r.time_zone !== null && zoneProblem(r.time_zone) === undefined)
      s.timeZone = r.time_zone;
    if (r.unit !== null) s.unit = r.unit;
    out.set(r.device_id, s);
  }
  return out;
}
