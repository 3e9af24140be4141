/**
 * Keeps the anchoring queue table small. `anchor_pending` takes a row for every
 * stored reading and loses it again when the reading is sealed, so without vacuum
 * its dead rows pile up by millions and every seal, which reads it in queue order,
 * walks over them: seals slow down while the table grows, and the backlog with them.
 * Autovacuum is tuned for it (migration 0008), but may be busy on the large reading
 * partitions, and the embedded database has none; so the worker vacuums the table
 * itself, at most once every `everyMs`. A failed vacuum (say, a database user that
 * does not own the table) is logged once and left to autovacuum.
 */
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';

export class PendingVacuum {
  private last = 0;
  private warned = false;

  constructor(
    private readonly pool: Pool,
    private readonly log: Logger,
    private readonly everyMs = 60_000,
  ) {}

  /** Vacuums the queue table when `everyMs` has passed since the last time. */
  async maybeRun(now = Date.now()): Promise<boolean> {
    if (now - this.last < this.everyMs) return false;
    this.last = now;
    try {
      // skip_locked: another worker vacuuming it already is as good.
      await this.pool.query('vacuum (skip_locked) anchor_pending');
      return true;
    } catch (err) {
      if (!this.warned) {
        this.warned = true;
        this.log.warn(
          { err: (err as Error).message },
          'cannot vacuum anchor_pending; left to autovacuum',
        );
      }
      return false;
    }
  }
}
