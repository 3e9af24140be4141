/**
 * The anchoring benchmark: how fast the worker anchors, and how long a stored reading
 * waits for its proof, with the local store and local ledger (so the figures are this
 * code's, not a network's), in an empty database of its own.
 *
 * 1. Throughput: `readings` readings are stored up front; a worker with the default
 *    settings seals them into batches and anchors every batch. Readings anchored per
 *    second = readings / time from start to the last receipt recorded.
 * 2. Latency: readings are stored at `rate` a second for `seconds`, in commits every
 *    100 ms, each commit telling the worker as ingest does; for each reading, the time
 *    from its commit (received_at) to its batch's receipt being recorded.
 *
 * `benchAnchor()` is what `npm run bench` calls; `node --import tsx bench/anchor.ts`
 * runs it alone (options: --readings N --rate N --seconds N --keep).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { LocalLedger } from '../src/anchor/localLedger.js';
import { LocalStore } from '../src/anchor/localStore.js';
import { createAnchorMetrics } from '../src/anchor/metrics.js';
import { AnchorNotifier } from '../src/anchor/notifier.js';
import { AnchorWorker } from '../src/anchor/worker.js';
import { readConfig, type AnchorConfig } from '../src/config/config.js';
import { migrate } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { MemoryQueue } from '../src/queue/memoryQueue.js';
import { createBenchDatabase } from './database.js';

/** USD per HCS ConsensusSubmitMessage (the fee from 2026). */
export const HCS_MESSAGE_USD = 0.0008;

export interface AnchorBenchOptions {
  /** Readings of the throughput phase; default 200,000. */
  readings?: number;
  /** Readings a second of the latency phase; default 2,000. */
  rate?: number;
  /** Seconds of the latency phase; default 25. */
  seconds?: number;
  keep?: boolean;
}

export interface AnchorBenchResult {
  batchMax: number;
  windowSeconds: number;
  throughput: { readings: number; batches: number; seconds: number; perSecond: number };
  latency: { readings: number; batches: number; p50: number; p95: number; max: number };
  /** USD per 1,000 readings at the default batch settings, one message per batch. */
  costPer1000Usd: number;
  lines: string[];
}

const log = createLogger('silent');

function defaults(dataDir: string): AnchorConfig {
  return { ...readConfig({ DATABASE_URL: 'postgres://unused/x' }).anchor, dataDir };
}

function startWorker(
  pool: Pool,
  config: AnchorConfig,
): { worker: AnchorWorker; queue: MemoryQueue; notifier: AnchorNotifier } {
  const queue = new MemoryQueue(log);
  const metrics = createAnchorMetrics(new Registry());
  const worker = new AnchorWorker({
    pool,
    queue,
    ipfs: new LocalStore(join(config.dataDir, 'ipfs')),
    ledger: new LocalLedger(pool),
    config,
    metrics,
    log,
  });
  worker.start();
  return { worker, queue, notifier: new AnchorNotifier(queue, config, metrics, log) };
}

async function storeReadings(pool: Pool, n: number, device: string): Promise<void> {
  await pool.query(
    `insert into reading (device_id, time, time_source, received_at, temperature_c,
                          humidity_pct, quality, raw_message_id)
     select $2 || (g % 500), clock_timestamp() - make_interval(secs => g / 1000.0), 'server',
            clock_timestamp(), 2 + (g % 60) / 10.0, 40 + (g % 20), 'good', g
     from generate_series(1, $1) g`,
    [n, device],
  );
}

async function unanchored(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `select (select count(*) from anchor_pending)::int
          + (select coalesce(sum(reading_count), 0) from anchor_batch where state <> 'anchored')::int as n`,
  );
  return rows[0]!.n;
}

async function waitAnchored(pool: Pool, deadlineMs: number): Promise<void> {
  while ((await unanchored(pool)) > 0) {
    if (Date.now() > deadlineMs) throw new Error('anchoring did not finish in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function throughput(
  pool: Pool,
  config: AnchorConfig,
  readings: number,
): Promise<AnchorBenchResult['throughput']> {
  for (let done = 0; done < readings; done += 50_000) {
    await storeReadings(pool, Math.min(50_000, readings - done), 'tp-');
  }
  const started = Date.now();
  const w = startWorker(pool, { ...config, batchWindowSeconds: 1 });
  w.notifier.stored(readings);
  // Stored long enough ago: their window is over at once.
  await pool.query(
    `update anchor_pending set queued_at = queued_at - interval '1 minute'`,
  );
  await waitAnchored(pool, started + 600_000);
  const seconds = (Date.now() - started) / 1000;
  await w.worker.close();
  await w.queue.close();
  const { rows } = await pool.query<{ n: number }>(
    'select count(*)::int as n from anchor_batch',
  );
  return { readings, batches: rows[0]!.n, seconds, perSecond: readings / seconds };
}

async function latency(
  pool: Pool,
  config: AnchorConfig,
  rate: number,
  seconds: number,
): Promise<AnchorBenchResult['latency']> {
  const w = startWorker(pool, config);
  const { rows: before } = await pool.query<{ id: string }>(
    'select coalesce(max(id), 0)::text as id from anchor_batch',
  );
  const perCommit = Math.max(1, Math.round(rate / 10));
  const end = Date.now() + seconds * 1000;
  for (let tick = Date.now(); tick < end; tick += 100) {
    await storeReadings(pool, perCommit, 'lat-');
    w.notifier.stored(perCommit);
    await new Promise((r) => setTimeout(r, Math.max(0, tick + 100 - Date.now())));
  }
  await waitAnchored(pool, Date.now() + 120_000);
  await w.worker.close();
  await w.queue.close();
  const { rows } = await pool.query<{
    n: number;
    batches: number;
    p50: number;
    p95: number;
    max: number;
  }>(
    `select count(*)::int as n, count(distinct b.id)::int as batches,
            percentile_cont(0.5) within group (order by s) as p50,
            percentile_cont(0.95) within group (order by s) as p95, max(s) as max
     from (select b.id, extract(epoch from b.anchored_at - r.received_at)::float8 as s
           from anchor_batch b join anchor_proof p on p.batch_id = b.id
           join reading r on r.id = p.reading_id and r.time = p.reading_time
           where b.id > $1) b`,
    [before[0]!.id],
  );
  const r = rows[0]!;
  return { readings: r.n, batches: r.batches, p50: r.p50, p95: r.p95, max: r.max };
}

/** Runs both phases in a database of its own; prints nothing, returns the figures. */
export async function benchAnchor(
  o: AnchorBenchOptions = {},
): Promise<AnchorBenchResult> {
  const db = await createBenchDatabase('anchor');
  const dataDir = mkdtempSync(join(tmpdir(), 'heru-bench-anchor-'));
  const pool = createPool(db.url, log, { max: 8 });
  try {
    await migrate(pool, log);
    const config = defaults(dataDir);
    const tp = await throughput(pool, config, o.readings ?? 200_000);
    const lat = await latency(pool, config, o.rate ?? 2000, o.seconds ?? 25);
    const costPer1000Usd = (1000 / config.batchMax) * HCS_MESSAGE_USD;
    const lines = [
      `anchoring (local store and ledger; batches of up to ${config.batchMax}, window ${config.batchWindowSeconds} s):`,
      `  throughput: ${tp.readings} readings in ${tp.batches} batches anchored in ${tp.seconds.toFixed(2)} s = ${Math.round(tp.perSecond)} readings/s`,
      `  stored → proof at ${o.rate ?? 2000} readings/s for ${o.seconds ?? 25} s (${lat.batches} batches): p50 ${lat.p50.toFixed(2)} s, p95 ${lat.p95.toFixed(2)} s, max ${lat.max.toFixed(2)} s`,
      `  ledger cost: one message per full batch = USD ${costPer1000Usd.toFixed(6)} per 1,000 readings (USD ${HCS_MESSAGE_USD} a message); one per reading would be USD ${(1000 * HCS_MESSAGE_USD).toFixed(2)}`,
    ];
    return {
      batchMax: config.batchMax,
      windowSeconds: config.batchWindowSeconds,
      throughput: tp,
      latency: lat,
      costPer1000Usd,
      lines,
    };
  } finally {
    await pool.end();
    if (!o.keep) {
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    } else {
      await db.client.end();
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      readings: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      keep: { type: 'boolean' },
    },
  });
  const result = await benchAnchor({
    ...(values.readings ? { readings: Number(values.readings) } : {}),
    ...(values.rate ? { rate: Number(values.rate) } : {}),
    ...(values.seconds ? { seconds: Number(values.seconds) } : {}),
    keep: values.keep ?? false,
  });
  console.log(result.lines.join('\n'));
}
