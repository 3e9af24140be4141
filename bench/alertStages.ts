/**
 * Where an alert's time goes, from what the server recorded of each sampled alarm:
 *
 *   publish ─► received (ingest read it: `reading.received_at`)
 *           ─► evaluated (the rule engine's turn began: `alarm.raised_at`)
 *           ─► queued (the hub's transaction began: `notify_delivery.created_at`)
 *           ─► sent (the delivery worker's first attempt began: `notify_attempt.started_at`)
 *           ─► arrived (the webhook receiver had the request)
 *
 * The server's times are PostgreSQL `now()` (the start of the transaction that wrote
 * them) or the ingest's clock, all on this machine, to the millisecond.
 */
import type pg from 'pg';

/** One sampled alarm: its device, when its reading was published and its webhook arrived (ms since 1970). */
export interface Sent {
  device: string;
  sentAt: number;
  arrivedAt: number;
}

export interface Stage {
  name: string;
  /** Milliseconds of this stage, one per sample the server has all the times of. */
  ms: number[];
}

interface Row {
  device_id: string;
  received_at: Date;
  raised_at: Date;
  queued_at: Date | null;
  started_at: Date | null;
}

export async function alertStages(
  client: pg.Client,
  sent: readonly Sent[],
): Promise<Stage[]> {
  const { rows } = await client.query<Row>(
    `select r.device_id, r.received_at, a.raised_at, d.created_at as queued_at,
            t.started_at
     from reading r
     join alarm a on a.device_id = r.device_id and a.kind = 'excursion_immediate'
     left join notify_delivery d on d.alarm_id = a.id::text and d.event = 'raised'
     left join notify_attempt t on t.delivery_id = d.id and t.attempt = 1
     where r.device_id = any($1) and r.temperature_c >= 12`,
    [sent.map((s) => s.device)],
  );
  const byDevice = new Map(rows.map((r) => [r.device_id, r]));
  const stages: Stage[] = [
    { name: 'publish -> received by ingest', ms: [] },
    { name: 'received -> rule engine turn', ms: [] },
    { name: 'engine turn -> delivery queued', ms: [] },
    { name: 'queued -> first attempt', ms: [] },
    { name: 'first attempt -> webhook received', ms: [] },
  ];
  for (const s of sent) {
    const r = byDevice.get(s.device);
    if (!r?.queued_at || !r.started_at) continue;
    const times = [
      s.sentAt,
      r.received_at.getTime(),
      r.raised_at.getTime(),
      r.queued_at.getTime(),
      r.started_at.getTime(),
      s.arrivedAt,
    ];
    stages.forEach((stage, i) => stage.ms.push(times[i + 1]! - times[i]!));
  }
  return stages;
}

function nearestRank(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function formatStages(stages: readonly Stage[]): string[] {
  const n = stages[0]?.ms.length ?? 0;
  if (n === 0) return ['  stages: no sample has all its times recorded'];
  const w = Math.max(...stages.map((s) => s.name.length));
  return [
    `  stages (${n} samples; server times are transaction starts, to the ms):`,
    ...stages.map(
      (s) =>
        `    ${s.name.padEnd(w)}  p50 ${nearestRank(s.ms, 50).toFixed(0)} ms, ` +
        `p99 ${nearestRank(s.ms, 99).toFixed(0)} ms`,
    ),
  ];
}
