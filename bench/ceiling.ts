/**
 * The ceiling the ingest is compared with: a plain bulk insert of the same reading
 * rows into the same table. The rows the ingest stored are exported (not timed), a
 * fresh database gets the same migrations, and one `COPY reading (…) FROM` of all the
 * rows is timed, with every index of `reading` in place. It writes reading rows only:
 * no raw messages, no natural keys, no device counters, no MQTT.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { migrate } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { createBenchDatabase } from './database.js';

const COLUMNS =
  'device_id, sensor, time, time_source, device_time, received_at, boot, seq, ' +
  'temperature_c, humidity_pct, battery_pct, battery_v, rssi_dbm, quality, flags, ' +
  'raw_message_id';

export interface CeilingResult {
  rows: number;
  seconds: number;
  rate: number;
  /** Size of the COPY text, bytes. */
  bytes: number;
}

function psql(url: URL, command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      'psql',
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', command, url.toString()],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`psql failed (${code}): ${err.trim()}`)),
    );
  });
}

/** Copies the readings of boot `boot` from `source` into a fresh database, timed. */
export async function measureCeiling(
  source: URL,
  boot: number,
  dir: string,
): Promise<CeilingResult> {
  const file = join(dir, `readings-boot${boot}.copy`);
  await psql(
    source,
    `\\copy (select ${COLUMNS} from reading where boot = ${boot} order by id) to '${file}'`,
  );
  const db = await createBenchDatabase('ceiling');
  try {
    const pool = createPool(db.url, createLogger('silent'), { max: 1 });
    try {
      await migrate(pool, createLogger('silent'));
    } finally {
      await pool.end();
    }
    await db.client.query('checkpoint');
    const started = process.hrtime.bigint();
    await psql(db.url, `\\copy reading (${COLUMNS}) from '${file}'`);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const { rows } = await db.client.query<{ n: string }>(
      'select count(*)::text as n from reading',
    );
    const n = Number(rows[0]!.n);
    return { rows: n, seconds, rate: n / seconds, bytes: statSync(file).size };
  } finally {
    await db.drop();
  }
}
