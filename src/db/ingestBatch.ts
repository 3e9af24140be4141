import type { DecodedMessage } from '../ingest/decoder.js';
import type { Reading } from '../ingest/reading.js';
import {
  boolColumn,
  byteaColumn,
  numberArray,
  numberColumn,
  textArray,
  textColumn,
  timeArray,
  timeColumn,
} from './pgArray.js';
import type { Pool } from './pool.js';
import { deviceStatusColumns, deviceStatusSql, statusPositions } from './deviceStatus.js';

export type Outcome = 'stored' | 'duplicate' | 'quarantined' | 'status';

/** What became of one batch, message by message, in the order given. */
export interface BatchResult {
  outcomes: Outcome[];
  readingsStored: number;
  readingsDuplicate: number;
  /** Readings newly stored, in the order given; what later stages work on. */
  stored: Reading[];
}

/** One result for several batches stored one after the other, in that order. */
export function mergeResults(results: readonly BatchResult[]): BatchResult {
  return {
    outcomes: results.flatMap((r) => r.outcomes),
    readingsStored: results.reduce((n, r) => n + r.readingsStored, 0),
    readingsDuplicate: results.reduce((n, r) => n + r.readingsDuplicate, 0),
    stored: results.flatMap((r) => r.stored),
  };
}

/**
 * The whole batch in one statement, so one round trip and one implicit transaction:
 * raw messages (`m`, each with a new id), candidate readings (`r`, the first of each
 * natural key in the batch), the keys claimed (`k`: those not stored before), the
 * readings whose key was claimed (`fresh`), then the inserts, the per-device
 * counters and what status messages said (deviceStatus.ts). It answers the
 * positions in `r` of the readings stored.
 *
 * Locks are taken in one order by every instance (keys sorted, then devices sorted),
 * so two commits running at once wait for each other instead of deadlocking.
 */
const STORE_BATCH_SQL = `
with m as materialized (
  select nextval('raw_message_id_seq') as id, u.*
    from unnest($1::timestamptz[], $2::text[], $3::bytea[], $4::smallint[], $5::boolean[],
                $6::text[], $7::text[], $8::text[], $9::integer[])
         with ordinality as u(received_at, topic, payload, qos, retained, device_id,
                              reason, detail, reading_count, i)
), r as (
  select * from unnest($10::integer[], $11::text[], $12::text[], $13::text[],
                       $14::timestamptz[], $15::text[], $16::timestamptz[],
                       $17::timestamptz[], $18::bigint[], $19::bigint[], $20::float8[],
                       $21::float8[], $22::float8[], $23::float8[], $24::integer[],
                       $25::text[], $26::text[])
         with ordinality as r(mi, device_id, natural_key, sensor, time, time_source,
                              device_time, received_at, boot, seq, temperature_c,
                              humidity_pct, battery_pct, battery_v, rssi_dbm, quality,
                              flags, ri)
), k as (
  insert into reading_key (device_id, natural_key)
  select device_id, natural_key from r order by device_id, natural_key
  on conflict do nothing
  returning device_id, natural_key
), fresh as materialized (
  select r.*, m.id as raw_message_id
    from r
    join k on k.device_id = r.device_id collate "C" and k.natural_key = r.natural_key collate "C"
    join m on m.i = r.mi
), raw as (
  insert into raw_message (id, received_at, topic, payload, qos, retained, device_id,
                           outcome, reason, detail, reading_count)
  select m.id, m.received_at, m.topic, m.payload, m.qos, m.retained, m.device_id,
         case when m.reason is not null then 'quarantined'
              when m.i = any($37::integer[]) then 'status'
              when s.mi is not null then 'stored'
              else 'duplicate' end,
         m.reason, m.detail, m.reading_count
    from m left join (select distinct mi from fresh) s on s.mi = m.i
), readings as (
  insert into reading (device_id, sensor, time, time_source, device_time, received_at,
                       boot, seq, temperature_c, humidity_pct, battery_pct, battery_v,
                       rssi_dbm, quality, flags, raw_message_id)
  select device_id, sensor, time, time_source, device_time, received_at, boot, seq,
         temperature_c, humidity_pct, battery_pct, battery_v, rssi_dbm, quality,
         case when flags = '' then '{}'::text[] else string_to_array(flags, ',') end,
         raw_message_id
    from fresh
), devices as (
  insert into device as d (device_id, first_seen_at, last_seen_at, last_reading_at,
                           message_count, reading_count, duplicate_count, quarantined_count)
  select t.device_id, t.first_seen, t.last_seen, f.last_reading, t.messages,
         coalesce(f.n, 0), t.candidates - coalesce(f.n, 0), t.quarantined
    from unnest($27::text[], $28::timestamptz[], $29::timestamptz[], $30::bigint[],
                $31::bigint[], $32::bigint[])
         as t(device_id, first_seen, last_seen, messages, candidates, quarantined)
    left join (select device_id, count(*) as n, max(time) as last_reading
                 from fresh group by device_id) f using (device_id)
   order by t.device_id
  on conflict (device_id) do update set
    first_seen_at = least(d.first_seen_at, excluded.first_seen_at),
    last_seen_at = greatest(d.last_seen_at, excluded.last_seen_at),
    last_reading_at = greatest(d.last_reading_at, excluded.last_reading_at),
    message_count = d.message_count + excluded.message_count,
    reading_count = d.reading_count + excluded.reading_count,
    duplicate_count = d.duplicate_count + excluded.duplicate_count,
    quarantined_count = d.quarantined_count + excluded.quarantined_count
), quarantine_counts as (
  insert into device_quarantine_count as q (device_id, reason, count, last_at)
  select * from unnest($33::text[], $34::text[], $35::bigint[], $36::timestamptz[])
   order by 1, 2
  on conflict (device_id, reason) do update set
    count = q.count + excluded.count,
    last_at = greatest(q.last_at, excluded.last_at)
), statuses as (
  ${deviceStatusSql(38)}
)
select coalesce(array_agg(ri order by ri), '{}')::integer[] as fresh from fresh`;

/** A reading sent as a candidate, and the message (1-based position) it came in. */
interface Candidate {
  reading: Reading;
  message: number;
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
  const candidates = firstOfEachKey(batch);
  const { rows } = await pool.query<{ fresh: number[] }>({
    name: 'store-ingest-batch',
    text: STORE_BATCH_SQL,
    values: [
      ...messageColumns(batch),
      ...readingColumns(candidates),
      ...deviceColumns(batch),
      ...quarantineColumns(batch),
      statusPositions(batch),
      ...deviceStatusColumns(batch),
    ],
  });
  const fresh = rows[0]!.fresh;
  const stored = fresh.map((i) => candidates[i - 1]!.reading);
  const storedIn = new Set(fresh.map((i) => candidates[i - 1]!.message));
  let total = 0;
  const outcomes = batch.map((m, i): Outcome => {
    if (m.quarantine) return 'quarantined';
    if (m.status) return 'status';
    total += m.readings.length;
    return storedIn.has(i + 1) ? 'stored' : 'duplicate';
  });
  return {
    outcomes,
    readingsStored: stored.length,
    readingsDuplicate: total - stored.length,
    stored,
  };
}

/** A natural key seen twice in one batch (a redelivery within it) is sent once. */
function firstOfEachKey(batch: readonly DecodedMessage[]): Candidate[] {
  const seen = new Set<string>();
  const out: Candidate[] = [];
  batch.forEach((m, i) => {
    for (const reading of m.readings) {
      const key = `${reading.deviceId}\u0000${reading.naturalKey}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ reading, message: i + 1 });
    }
  });
  return out;
}

function messageColumns(batch: readonly DecodedMessage[]): string[] {
  return [
    timeColumn(batch, (m) => m.message.receivedAt),
    textColumn(batch, (m) => m.message.topic),
    byteaColumn(batch, (m) => m.message.payload),
    numberColumn(batch, (m) => m.message.qos),
    boolColumn(batch, (m) => m.message.retain),
    textColumn(batch, (m) => m.deviceId),
    textColumn(batch, (m) => m.quarantine?.reason ?? null),
    textColumn(batch, (m) => m.quarantine?.detail ?? null),
    numberColumn(batch, (m) => m.readings.length),
  ];
}

function readingColumns(candidates: readonly Candidate[]): string[] {
  const c = candidates;
  return [
    numberColumn(c, (x) => x.message),
    textColumn(c, (x) => x.reading.deviceId),
    textColumn(c, (x) => x.reading.naturalKey),
    textColumn(c, (x) => x.reading.sensor),
    timeColumn(c, (x) => x.reading.time),
    textColumn(c, (x) => x.reading.timeSource),
    timeColumn(c, (x) => x.reading.deviceTime),
    timeColumn(c, (x) => x.reading.receivedAt),
    numberColumn(c, (x) => x.reading.boot),
    numberColumn(c, (x) => x.reading.seq),
    numberColumn(c, (x) => x.reading.temperatureC),
    numberColumn(c, (x) => x.reading.humidityPct),
    numberColumn(c, (x) => x.reading.batteryPct),
    numberColumn(c, (x) => x.reading.batteryV),
    numberColumn(c, (x) => x.reading.rssiDbm),
    textColumn(c, (x) => x.reading.quality),
    textColumn(c, (x) => x.reading.flags.join(',')),
  ];
}

interface DeviceTally {
  first: Date;
  last: Date;
  messages: number;
  /** Readings in its messages that were not quarantined: stored or duplicate. */
  candidates: number;
  quarantined: number;
}

/** Per device: what the batch adds to its counters. */
function deviceTallies(batch: readonly DecodedMessage[]): Map<string, DeviceTally> {
  const tallies = new Map<string, DeviceTally>();
  for (const m of batch) {
    if (m.deviceId === null) continue;
    const at = m.message.receivedAt;
    let t = tallies.get(m.deviceId);
    if (!t) {
      t = { first: at, last: at, messages: 0, candidates: 0, quarantined: 0 };
      tallies.set(m.deviceId, t);
    }
    if (at < t.first) t.first = at;
    if (at > t.last) t.last = at;
    t.messages += 1;
    if (m.quarantine) t.quarantined += 1;
    else t.candidates += m.readings.length;
  }
  return tallies;
}

function deviceColumns(batch: readonly DecodedMessage[]): string[] {
  const tallies = [...deviceTallies(batch)];
  return [
    textArray(tallies.map(([id]) => id)),
    timeArray(tallies.map(([, t]) => t.first)),
    timeArray(tallies.map(([, t]) => t.last)),
    numberArray(tallies.map(([, t]) => t.messages)),
    numberArray(tallies.map(([, t]) => t.candidates)),
    numberArray(tallies.map(([, t]) => t.quarantined)),
  ];
}

/** Quarantined messages per device and reason; usually none. */
function quarantineColumns(batch: readonly DecodedMessage[]): string[] {
  const counts = new Map<
    string,
    { device: string; reason: string; n: number; last: Date }
  >();
  for (const m of batch) {
    if (m.deviceId === null || !m.quarantine) continue;
    const key = `${m.deviceId}\u0000${m.quarantine.reason}`;
    const c = counts.get(key);
    if (c) {
      c.n += 1;
      if (m.message.receivedAt > c.last) c.last = m.message.receivedAt;
    } else {
      const at = m.message.receivedAt;
      counts.set(key, {
        device: m.deviceId,
        reason: m.quarantine.reason,
        n: 1,
        last: at,
      });
    }
  }
  const rows = [...counts.values()];
  return [
    textArray(rows.map((r) => r.device)),
    textArray(rows.map((r) => r.reason)),
    numberArray(rows.map((r) => r.n)),
    timeArray(rows.map((r) => r.last)),
  ];
}
