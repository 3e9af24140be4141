import type { DecodedMessage } from '../ingest/decoder.js';
import type { Reading } from '../ingest/reading.js';
import { transaction, type Pool, type PoolClient } from './pool.js';

export type Outcome = 'stored' | 'duplicate' | 'quarantined';

/** What became of one batch, message by message, in the order given. */
export interface BatchResult {
  outcomes: Outcome[];
  readingsStored: number;
  readingsDuplicate: number;
  /** Readings newly stored, in the order given; what later stages work on. */
  stored: Reading[];
}

/**
 * Stores a batch of decoded messages in one transaction: every raw message, the
 * readings whose natural key is new, and the per-device counters. When this resolves
 * the batch is durable and its messages may be acknowledged.
 */
export async function storeBatch(
  pool: Pool,
  batch: readonly DecodedMessage[],
): Promise<BatchResult> {
  return transaction(pool, async (c) => {
    const rawIds = await nextIds(c, 'raw_message_id_seq', batch.length);
    const fresh = await claimKeys(c, batch);

    const outcomes: Outcome[] = [];
    const stored: Reading[] = [];
    const storedFrom: string[] = [];
    let duplicates = 0;
    batch.forEach((m, i) => {
      if (m.quarantine) return outcomes.push('quarantined');
      const isNew = m.readings.map((r) => fresh.delete(keyOf(r)));
      const count = isNew.filter(Boolean).length;
      duplicates += m.readings.length - count;
      m.readings.forEach((r, j) => {
        if (!isNew[j]) return;
        stored.push(r);
        storedFrom.push(rawIds[i]!);
      });
      return outcomes.push(count > 0 ? 'stored' : 'duplicate');
    });

    await insertRawMessages(c, batch, rawIds, outcomes);
    await insertReadings(c, stored, storedFrom);
    await updateDevices(c, batch, outcomes, stored);
    return {
      outcomes,
      readingsStored: stored.length,
      readingsDuplicate: duplicates,
      stored,
    };
  });
}

function keyOf(r: Reading): string {
  return `${r.deviceId}\u0000${r.naturalKey}`;
}

async function nextIds(c: PoolClient, sequence: string, n: number): Promise<string[]> {
  const { rows } = await c.query<{ id: string }>({
    name: `next-${sequence}`,
    text: `select nextval('${sequence}')::text as id from generate_series(1, $1)`,
    values: [n],
  });
  return rows.map((r) => r.id);
}

/** Inserts the natural keys; returns those that were not there before. */
async function claimKeys(
  c: PoolClient,
  batch: readonly DecodedMessage[],
): Promise<Set<string>> {
  const devices: string[] = [];
  const keys: string[] = [];
  for (const m of batch) {
    for (const r of m.readings) {
      devices.push(r.deviceId);
      keys.push(r.naturalKey);
    }
  }
  if (keys.length === 0) return new Set();
  const { rows } = await c.query<{ device_id: string; natural_key: string }>({
    name: 'claim-reading-keys',
    text: `insert into reading_key (device_id, natural_key)
           select * from unnest($1::text[], $2::text[])
           on conflict do nothing
           returning device_id, natural_key`,
    values: [devices, keys],
  });
  return new Set(rows.map((r) => `${r.device_id}\u0000${r.natural_key}`));
}

async function insertRawMessages(
  c: PoolClient,
  batch: readonly DecodedMessage[],
  ids: readonly string[],
  outcomes: readonly Outcome[],
): Promise<void> {
  await c.query({
    name: 'insert-raw-messages',
    text: `insert into raw_message
             (id, received_at, topic, payload, qos, retained, device_id, outcome, reason, detail,
              reading_count)
           select * from unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::bytea[],
                                $5::smallint[], $6::boolean[], $7::text[], $8::text[], $9::text[],
                                $10::text[], $11::integer[])`,
    values: [
      ids,
      batch.map((m) => m.message.receivedAt),
      batch.map((m) => m.message.topic),
      batch.map((m) => m.message.payload),
      batch.map((m) => m.message.qos),
      batch.map((m) => m.message.retain),
      batch.map((m) => m.deviceId),
      outcomes,
      batch.map((m) => m.quarantine?.reason ?? null),
      batch.map((m) => m.quarantine?.detail ?? null),
      batch.map((m) => m.readings.length),
    ],
  });
}

async function insertReadings(
  c: PoolClient,
  readings: readonly Reading[],
  rawIds: readonly string[],
): Promise<void> {
  if (readings.length === 0) return;
  const col = <T>(f: (r: Reading) => T): T[] => readings.map(f);
  await c.query({
    name: 'insert-readings',
    text: `insert into reading
             (device_id, sensor, time, time_source, device_time, received_at, boot, seq,
              temperature_c, humidity_pct, battery_pct, battery_v, rssi_dbm, quality, flags,
              raw_message_id)
           select d, s, t, ts, dt, ra, b, sq, tc, hp, bp, bv, rs, q,
                  case when f = '' then '{}'::text[] else string_to_array(f, ',') end, rid
           from unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[],
                       $5::timestamptz[], $6::timestamptz[], $7::bigint[], $8::bigint[],
                       $9::float8[], $10::float8[], $11::float8[], $12::float8[],
                       $13::integer[], $14::text[], $15::text[], $16::bigint[])
                as u(d, s, t, ts, dt, ra, b, sq, tc, hp, bp, bv, rs, q, f, rid)`,
    values: [
      col((r) => r.deviceId),
      col((r) => r.sensor),
      col((r) => r.time),
      col((r) => r.timeSource),
      col((r) => r.deviceTime),
      col((r) => r.receivedAt),
      col((r) => r.boot),
      col((r) => r.seq),
      col((r) => r.temperatureC),
      col((r) => r.humidityPct),
      col((r) => r.batteryPct),
      col((r) => r.batteryV),
      col((r) => r.rssiDbm),
      col((r) => r.quality),
      col((r) => r.flags.join(',')),
      rawIds,
    ],
  });
}

interface DeviceTally {
  first: Date;
  last: Date;
  lastReading: Date | null;
  messages: number;
  readings: number;
  duplicates: number;
  quarantined: Map<string, number>;
}

/** Upserts the device rows, in device-id order so concurrent instances never deadlock. */
async function updateDevices(
  c: PoolClient,
  batch: readonly DecodedMessage[],
  outcomes: readonly Outcome[],
  stored: readonly Reading[],
): Promise<void> {
  const tallies = new Map<string, DeviceTally>();
  const tallyOf = (id: string, at: Date): DeviceTally => {
    let t = tallies.get(id);
    if (!t) {
      t = {
        first: at,
        last: at,
        lastReading: null,
        messages: 0,
        readings: 0,
        duplicates: 0,
        quarantined: new Map(),
      };
      tallies.set(id, t);
    }
    if (at < t.first) t.first = at;
    if (at > t.last) t.last = at;
    return t;
  };
  batch.forEach((m, i) => {
    if (m.deviceId === null) return;
    const t = tallyOf(m.deviceId, m.message.receivedAt);
    t.messages += 1;
    if (m.quarantine)
      t.quarantined.set(
        m.quarantine.reason,
        (t.quarantined.get(m.quarantine.reason) ?? 0) + 1,
      );
    if (outcomes[i] !== 'quarantined') t.duplicates += m.readings.length;
  });
  for (const r of stored) {
    const t = tallyOf(r.deviceId, r.receivedAt);
    t.readings += 1;
    t.duplicates -= 1;
    if (t.lastReading === null || r.time > t.lastReading) t.lastReading = r.time;
  }
  if (tallies.size === 0) return;

  const ids = [...tallies.keys()].sort();
  const get = (id: string): DeviceTally => tallies.get(id)!;
  await c.query({
    name: 'upsert-devices',
    text: `insert into device as d (device_id, first_seen_at, last_seen_at, last_reading_at,
             message_count, reading_count, duplicate_count, quarantined_count)
           select * from unnest($1::text[], $2::timestamptz[], $3::timestamptz[],
                                $4::timestamptz[], $5::bigint[], $6::bigint[], $7::bigint[],
                                $8::bigint[])
           on conflict (device_id) do update set
             first_seen_at = least(d.first_seen_at, excluded.first_seen_at),
             last_seen_at = greatest(d.last_seen_at, excluded.last_seen_at),
             last_reading_at = greatest(d.last_reading_at, excluded.last_reading_at),
             message_count = d.message_count + excluded.message_count,
             reading_count = d.reading_count + excluded.reading_count,
             duplicate_count = d.duplicate_count + excluded.duplicate_count,
             quarantined_count = d.quarantined_count + excluded.quarantined_count`,
    values: [
      ids,
      ids.map((id) => get(id).first),
      ids.map((id) => get(id).last),
      ids.map((id) => get(id).lastReading),
      ids.map((id) => get(id).messages),
      ids.map((id) => get(id).readings),
      ids.map((id) => get(id).duplicates),
      ids.map((id) => [...get(id).quarantined.values()].reduce((a, b) => a + b, 0)),
    ],
  });

  const qDevices: string[] = [];
  const qReasons: string[] = [];
  const qCounts: number[] = [];
  const qLast: Date[] = [];
  for (const id of ids) {
    for (const [reason, count] of [...get(id).quarantined].sort()) {
      qDevices.push(id);
      qReasons.push(reason);
      qCounts.push(count);
      qLast.push(get(id).last);
    }
  }
  if (qDevices.length === 0) return;
  await c.query({
    name: 'upsert-quarantine-counts',
    text: `insert into device_quarantine_count as q (device_id, reason, count, last_at)
           select * from unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[])
           on conflict (device_id, reason) do update set
             count = q.count + excluded.count,
             last_at = greatest(q.last_at, excluded.last_at)`,
    values: [qDevices, qReasons, qCounts, qLast],
  });
}
