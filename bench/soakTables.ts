/**
 * What the soak reads from PostgreSQL each minute: the size on disk of the tables
 * that grow with every reading (all partitions, indexes and TOAST included), and
 * their rows, taken from counters kept in small tables (the per-device counters, the
 * batches' reading counts) rather than by counting millions of rows each minute.
 */
import type pg from 'pg';

export interface SoakTables {
  /** Bytes of the growing tables together, and of the two largest. */
  totalBytes: number;
  readingBytes: number;
  proofBytes: number;
  /** Readings stored, raw messages stored, readings in anchored batches. */
  readings: number;
  rawMessages: number;
  anchoredReadings: number;
  /** Readings in no batch yet, and batches not yet anchored. */
  pendingReadings: number;
  unanchoredBatches: number;
}

const GROWING = [
  'reading',
  'raw_message',
  'reading_key',
  'anchor_proof',
  'anchor_pending',
  'anchor_batch',
];

export async function soakTables(c: pg.Client): Promise<SoakTables> {
  const { rows } = await c.query<{ name: string; bytes: string }>(
    `select c.relname as name,
            (case when c.relkind = 'p'
                  then (select coalesce(sum(pg_total_relation_size(t.relid)), 0)
                          from pg_partition_tree(c.oid) t)
                  else pg_total_relation_size(c.oid) end)::text as bytes
     from pg_class c
     where c.relname = any($1::text[]) and c.relkind in ('r', 'p')
       and c.relnamespace = 'public'::regnamespace`,
    [GROWING],
  );
  const size = new Map(rows.map((r) => [r.name, Number(r.bytes)]));
  const counts = await c.query<{
    readings: string;
    messages: string;
    anchored: string;
    pending: string;
    batches: string;
  }>(
    `select (select coalesce(sum(reading_count), 0) from device)::text as readings,
            (select coalesce(sum(message_count), 0) from device)::text as messages,
            (select coalesce(sum(reading_count), 0) from anchor_batch
              where state = 'anchored')::text as anchored,
            (select count(*) from anchor_pending)::text as pending,
            (select count(*) from anchor_batch where state <> 'anchored')::text as batches`,
  );
  const n = counts.rows[0]!;
  return {
    totalBytes: [...size.values()].reduce((a, b) => a + b, 0),
    readingBytes: size.get('reading') ?? 0,
    proofBytes: size.get('anchor_proof') ?? 0,
    readings: Number(n.readings),
    rawMessages: Number(n.messages),
    anchoredReadings: Number(n.anchored),
    pendingReadings: Number(n.pending),
    unanchoredBatches: Number(n.batches),
  };
}
