/**
 * What a fault scenario counts at its end, against the burst it published
 * (burst.ts: devices `{prefix}-{d}`, boot 1, seq from 0): which of the readings the
 * broker accepted are stored, once or more, and which are missing; whether every
 * stored reading is anchored once on the local backends; which alarms were raised;
 * and when the rule engine has taken in everything stored.
 */
import type pg from 'pg';
import { expect } from 'vitest';
import { ledgerMessagesByBatch, pinsByCid } from './anchor.js';
import {
  anchorCounts,
  anchoredBatches,
  anchoredTwice,
  pollUntil,
} from './exactlyOnce.js';

/**
 * Temperatures of a burst with one warm spell: device 0 at 9 °C from reading `from`
 * to `to - 1` (a second apart), every other reading within 2–8 °C.
 */
export function warmSpell(from: number, to: number) {
  return (d: number, seq: number): number =>
    d === 0 && seq >= from && seq < to ? 9 : 2 + (seq % 60) / 10;
}

export interface BurstTally {
  /** Readings of the burst found in `reading`, each counted once. */
  stored: number;
  /** Rows beyond the first of the same (device, boot, seq) (must be 0). */
  duplicates: number;
  /** Readings of the burst not found (must be 0), and up to 10 of them. */
  lost: number;
  missing: string[];
  /** Readings of the burst's devices that the burst never sent (must be 0). */
  extra: number;
}

/** Counts the burst `prefix` of `devices` × `perDevice` readings in PostgreSQL. */
export async function tallyBurst(
  sql: pg.Pool,
  burst: { prefix: string; devices: number; perDevice: number },
): Promise<BurstTally> {
  const { rows } = await sql.query<Omit<BurstTally, 'missing'> & { missing: string[] }>(
    `with sent as (
       select $1 || '-' || d as device_id, s::bigint as seq
       from generate_series(0, $2::int - 1) d, generate_series(0, $3::int - 1) s
     ), got as (
       select device_id, boot, seq, count(*)::int as n from reading
       where device_id like $1 || '-%' group by device_id, boot, seq
     ), lost as (
       select device_id || '/' || seq as key from sent
       where not exists (select 1 from got g where g.device_id = sent.device_id
                           and g.boot = 1 and g.seq = sent.seq)
     )
     select (select count(*)::int from got g join sent s using (device_id, seq)
              where g.boot = 1) as stored,
            (select coalesce(sum(n - 1), 0)::int from got) as duplicates,
            (select count(*)::int from lost) as lost,
            (select coalesce(array_agg(key), '{}') from (select key from lost limit 10) l)
              as missing,
            (select count(*)::int from got g
              where g.boot is distinct from 1
                 or not exists (select 1 from sent s where s.device_id = g.device_id
                                  and s.seq = g.seq)) as extra`,
    [burst.prefix, burst.devices, burst.perDevice],
  );
  return rows[0]!;
}

export interface AnchorTally {
  /** Batches, all anchored, and the readings in them. */
  batches: number;
  anchoredReadings: number;
  /** Batches with more than one ledger message, or more than one pin (must be 0). */
  anchoredTwice: number;
  pinnedTwice: number;
  /** Batches with no ledger message or no pin of their CID (must be 0). */
  unmatched: number;
  /** Readings in no batch, or in a batch whose proof rows disagree (must be 0). */
  orphans: number;
}

/**
 * Waits until every stored reading is in an anchored batch (at most `ms`), then
 * counts each batch's ledger messages and pins on the local ledger and store.
 */
export async function tallyLocalAnchoring(
  sql: pg.Pool,
  dataDir: string,
  ms = 120_000,
): Promise<AnchorTally> {
  const c = await pollUntil(
    () => anchorCounts(sql),
    (a) => a.pendingReadings === 0 && a.batches > 0 && a.anchoredBatches === a.batches,
    ms,
    'every stored reading in an anchored batch',
    1_000,
  );
  const batches = await anchoredBatches(sql);
  const messages = await ledgerMessagesByBatch(sql);
  const pins = await pinsByCid(dataDir);
  return {
    batches: batches.length,
    anchoredReadings: c.anchoredReadings,
    anchoredTwice: anchoredTwice(messages),
    pinnedTwice: batches.filter((b) => (pins.get(b.cid) ?? 0) > 1).length,
    unmatched: batches.filter((b) => messages.get(b.id) !== 1 || !pins.has(b.cid)).length,
    orphans: c.orphanReadings + c.miscountedBatches,
  };
}

/** An alarm in few words, for comparing with the alarms a scenario expects. */
export interface AlarmBrief {
  device: string | null;
  rule: string;
  kind: string;
  historical: boolean;
  state: string;
}

/** The alarm a warm spell of an hour or more gives in readings that arrive late. */
export const historicalHeat = (device: string): AlarmBrief => ({
  device,
  rule: 'heat',
  kind: 'historical_excursion',
  historical: true,
  state: 'cleared',
});

/** Every reading of a burst of `total` stored once and anchored once. */
export function expectWhole(tally: BurstTally, anchoring: AnchorTally, total: number) {
  expect(tally).toEqual({ stored: total, duplicates: 0, lost: 0, missing: [], extra: 0 });
  expect(anchoring.anchoredReadings).toBe(total);
  expect(anchoring).toMatchObject({
    anchoredTwice: 0,
    pinnedTwice: 0,
    unmatched: 0,
    orphans: 0,
  });
}

/** Every alarm, by device and rule. */
export async function alarmsBrief(sql: pg.Pool): Promise<AlarmBrief[]> {
  const { rows } = await sql.query<AlarmBrief>(
    `select device_id as device, rule_id as rule, kind, historical, state from alarm
     order by device_id nulls first, rule_id, since`,
  );
  return rows;
}

/**
 * Waits (at most `ms`) until the rule engine has evaluated every device whose id
 * starts with `prefix` through the last reading stored of it.
 */
export async function untilEvaluated(sql: pg.Pool, prefix: string, ms = 120_000) {
  await pollUntil(
    async () => {
      const { rows } = await sql.query<{ behind: number }>(
        `select count(*)::int as behind from (
           select device_id, max(received_at) as last from reading
           where device_id like $1 || '-%' group by device_id) r
         where not exists (select 1 from alarm_device_state s
                           where s.device_id = r.device_id
                             and s.evaluated_through >= r.last)`,
        [prefix],
      );
      return rows[0]!.behind;
    },
    (behind) => behind === 0,
    ms,
    `the rule engine to take in every reading of ${prefix}-*`,
  );
}
