/**
 * The rules-and-alarms part of a process: the notifier (where alarm events go), the
 * rule engine (in processes that ingest) and the offline watchdog (in every process
 * with the database; several may run, each alarm is raised once).
 */
import type { Pool } from '../db/pool.js';
import type { Health } from '../health.js';
import type { IngestPipeline } from '../ingest/pipeline.js';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';
import type { AlarmConfig } from './config.js';
import { AlarmEngine } from './engine.js';
import { createAlarmMetrics } from './metrics.js';
import { AlarmNotifier } from './notifier.js';
import { Watchdog, type IngestProbe } from './watchdog.js';

/** Readings waiting for the rule engine at which ingest stops reading (a few of its turns). */
const MAX_BACKLOG = 50_000;

/** Health entries that say whether this process's ingest works. */
const INGEST_CHECKS = ['mqtt', 'ingest'];

export class Alarms {
  readonly notifier: AlarmNotifier;
  /** Present in processes that ingest. */
  readonly engine: AlarmEngine | undefined;
  readonly watchdog: Watchdog;

  constructor(deps: {
    pool: Pool;
    config: AlarmConfig;
    log: Logger;
    health: Health;
    ingest: boolean;
    /** Where the alarm metrics are registered (the /metrics registry). */
    registry: Registry;
  }) {
    const log = deps.log.child({ part: 'alarms' });
    const metrics = createAlarmMetrics(deps.registry);
    this.notifier = new AlarmNotifier(log, metrics);
    this.engine = deps.ingest
      ? new AlarmEngine(deps.pool, this.notifier, deps.config, log, metrics)
      : undefined;
    const probe = deps.ingest ? ingestProbe(deps.health) : undefined;
    this.watchdog = new Watchdog(deps.pool, this.notifier, deps.config, log, probe);
  }

  /** Evaluates readings missed before the last stop, then starts the watchdog. */
  async start(): Promise<void> {
    await this.engine?.start();
    this.watchdog.start();
  }

  /**
   * Hands every batch the pipeline commits to the engine. The engine's queue is
   * bounded: while MAX_BACKLOG readings wait, ingest stops reading (the broker keeps
   * the messages) instead of this process growing without limit.
   */
  attach(pipeline: IngestPipeline): void {
    const engine = this.engine;
    if (!engine) return;
    pipeline.on('stored', (result) => engine.onStored(result));
    pipeline.holdWhile(() => engine.backlog >= MAX_BACKLOG);
  }

  /** Stops the watchdog and evaluates what is still queued. */
  async close(): Promise<void> {
    await this.watchdog.close();
    await this.engine?.close();
  }
}

function ingestProbe(health: Health): IngestProbe {
  return async () => {
    const { checks } = await health.report();
    const failing = INGEST_CHECKS.map((name) => [name, checks[name]] as const).filter(
      ([, c]) => c?.status === 'failing',
    );
    if (failing.length === 0) return null;
    return failing.map(([name, c]) => `${name}: ${c?.detail ?? 'failing'}`).join('; ');
  };
}
