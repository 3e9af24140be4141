/**
 * Readings history for the dashboard's tests and benchmark, written straight into
 * PostgreSQL (the way the device table and readings look after ingest): a fridge
 * cycling around 5 °C, with an excursion or a gap where asked.
 */
import type { Pool } from '../../src/db/pool.js';

export interface SeededDevice {
  id: string;
  site?: string;
  /** Hours ago (from, to) during which the fridge was warm (9.5 °C and more). */
  warm?: [number, number];
  /** Hours ago (from, to) without any reading. */
  gap?: [number, number];
  /** Last reading invalid (a disconnected probe). */
  invalidLast?: boolean;
  /** Minutes before `now` of the last reading (default 0.5). */
  silentMinutes?: number;
}

const CHUNK = 50_000;

/** Readings every `everyS` seconds over the last `hours`; returns how many were written. */
export async function seedFleet(
  pool: Pool,
  devices: readonly SeededDevice[],
  opts: { hours: number; everyS: number; now?: Date },
): Promise<number> {
  const now = (opts.now ?? new Date()).getTime();
  let written = 0;
  const rows: Row[] = [];
  const flush = async (): Promise<void> => {
    if (rows.length === 0) return;
    await insertRows(pool, rows.splice(0));
  };
  for (const [k, d] of devices.entries()) {
    const last = now - (d.silentMinutes ?? 0.5) * 60_000;
    const count = Math.floor((opts.hours * 3600) / opts.everyS);
    for (let i = count; i >= 0; i -= 1) {
      const t = last - i * opts.everyS * 1000;
      const hoursAgo = (now - t) / 3600_000;
      if (d.gap && hoursAgo <= d.gap[0] && hoursAgo >= d.gap[1]) continue;
      const warm = d.warm && hoursAgo <= d.warm[0] && hoursAgo >= d.warm[1];
      const base =
        5 + 1.2 * Math.sin(t / 2_400_000 + k) + 0.15 * Math.sin(t / 97_000 + k);
      const invalid = d.invalidLast === true && i === 0;
      rows.push({
        device: d.id,
        time: new Date(t),
        temperature: invalid ? null : round(warm ? 9.5 + Math.sin(t / 600_000) : base),
        humidity: round(45 + 5 * Math.sin(t / 3_600_000 + k)),
        invalid,
      });
      written += 1;
      if (rows.length >= CHUNK) await flush();
    }
  }
  await flush();
  await upsertDevices(pool, devices, now);
  return written;
}

interface Row {
  device: string;
  time: Date;
  temperature: number | null;
  humidity: number;
  invalid: boolean;
}

const round = (v: number): number => Math.round(v * 100) / 100;

async function insertRows(pool: Pool, rows: Row[]): Promise<void> {
  await pool.query(
    `insert into reading (device_id, time, time_source, received_at, temperature_c,
                          humidity_pct, quality, flags, raw_message_id)
     select d, t, 'device', t, temp, hum, case when bad then 'invalid' else 'good' end,
            case when bad then '{disconnected}'::text[] else '{}'::text[] end, 0
     from unnest($1::text[], $2::timestamptz[], $3::float8[], $4::float8[], $5::bool[])
          as u(d, t, temp, hum, bad)`,
    [
      rows.map((r) => r.device),
      rows.map((r) => r.time),
      rows.map((r) => r.temperature),
      rows.map((r) => r.humidity),
      rows.map((r) => r.invalid),
    ],
  );
}

async function upsertDevices(
  pool: Pool,
  devices: readonly SeededDevice[],
  now: number,
): Promise<void> {
  await pool.query(
    `insert into device (device_id, first_seen_at, last_seen_at, last_reading_at, site)
     select d, now() - interval '30 days', s, s, site
     from unnest($1::text[], $2::timestamptz[], $3::text[]) as u(d, s, site)
     on conflict (device_id) do update set last_seen_at = excluded.last_seen_at,
       last_reading_at = excluded.last_reading_at, site = excluded.site`,
    [
      devices.map((d) => d.id),
      devices.map((d) => new Date(now - (d.silentMinutes ?? 0.5) * 60_000)),
      devices.map((d) => d.site ?? null),
    ],
  );
}
