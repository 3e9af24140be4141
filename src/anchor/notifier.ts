/**
 * Ingest's side of anchoring: after each commit that stored readings, make sure a
 * seal job will run one window later, and at once when a batch's worth has been
 * stored. Adding a job never delays or fails ingest: it is not awaited, and a failure
 * (Redis down) is counted and logged; the readings wait in anchor_pending and the
 * reconciler queues them.
 */
import type { AnchorConfig } from '../config/config.js';
import type { Logger } from '../log.js';
import type { JobQueue } from '../queue/jobQueue.js';
import { SEAL_JOB, fullJobId, windowJobId } from './jobs.js';
import type { AnchorMetrics } from './metrics.js';
import type { SealMode } from './seal.js';

// Lets the job find its readings due even when the clocks of this process and of
// PostgreSQL differ a little.
const DELAY_MARGIN_MS = 250;
/** At most one warning this often while adding jobs fails. */
const WARN_EVERY_MS = 60_000;

export class AnchorNotifier {
  private window: number | undefined;
  private sinceFull = 0;
  private fullJobs = 0;
  private lastWarning = 0;

  constructor(
    private readonly queue: JobQueue,
    private readonly config: AnchorConfig,
    private readonly metrics: AnchorMetrics,
    private readonly log: Logger,
  ) {}

  /** Called after a commit that stored `readings` new readings. */
  stored(readings: number): void {
    if (readings <= 0) return;
    const windowMs = this.config.batchWindowSeconds * 1000;
    const window = Math.floor(Date.now() / windowMs);
    if (window !== this.window) {
      this.window = window;
      this.send(windowJobId(window), 'window', windowMs + DELAY_MARGIN_MS, () => {
        // Try again with the next commit of this window.
        if (this.window === window) this.window = undefined;
      });
    }
    this.sinceFull += readings;
    if (this.sinceFull >= this.config.batchMax) {
      this.sinceFull = 0;
      this.fullJobs += 1;
      this.send(fullJobId(window, this.fullJobs), 'full', 0);
    }
  }

  private send(
    id: string,
    mode: SealMode,
    delayMs: number,
    onFailure?: () => void,
  ): void {
    this.queue.add(SEAL_JOB, id, { mode }, { delayMs }).catch((err: Error) => {
      onFailure?.();
      this.metrics.enqueueFailures.inc();
      const now = Date.now();
      if (now - this.lastWarning >= WARN_EVERY_MS) {
        this.lastWarning = now;
        this.log.warn(
          { job: id, err: err.message },
          'anchor job not queued; the reconciler will queue the readings later',
        );
      }
    });
  }
}
