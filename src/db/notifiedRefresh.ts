/**
 * Keeps an in-memory copy of some tables fresh: loads it at start (a failure is
 * thrown), again whenever a change is committed (the tables' triggers NOTIFY
 * `channel`, whoever made the change) and every `refreshMs`, which also covers a
 * notification lost while the listening connection was down. A failed load keeps the
 * last copy and is retried; loads asked for while one runs are served by one more.
 */
import type { Pool, PoolClient } from './pool.js';
import type { Logger } from '../log.js';

const RELISTEN_MS = 5_000;

export interface NotifiedRefreshOptions {
  pool: Pool;
  log: Logger;
  /** The channel the tables' triggers notify. */
  channel: string;
  /** What is kept, for the log: "device registry", "mappings". */
  what: string;
  refreshMs: number;
  /** Reads the tables and replaces the copy. */
  load: () => Promise<void>;
}

export class NotifiedRefresh {
  private listener: PoolClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private relisten: NodeJS.Timeout | undefined;
  private closed = false;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly o: NotifiedRefreshOptions) {}

  async start(): Promise<void> {
    await this.o.load();
    await this.listen(false);
    this.timer = setInterval(() => void this.refresh(), this.o.refreshMs);
    this.timer.unref();
  }

  /** Loads again; calls made while a load runs are served by one more load after it. */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.o.load();
        } catch (err) {
          this.o.log.warn(
            { err: (err as Error).message },
            `${this.o.what} refresh failed`,
          );
        }
      } while (this.again && !this.closed);
      this.running = undefined;
    })();
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.relisten);
    this.dropListener();
    await this.running;
  }

  private async listen(catchUp: boolean): Promise<void> {
    if (this.closed) return;
    const { log, what } = this.o;
    let client: PoolClient | undefined;
    const lost = (err: Error): void => {
      if (client === undefined || this.listener !== client || this.closed) return;
      log.warn({ err: err.message }, `${what} listener lost; listening again`);
      this.dropListener();
      this.relisten = setTimeout(() => void this.listen(true), RELISTEN_MS);
    };
    try {
      client = await this.o.pool.connect();
      this.listener = client;
      client.on('notification', () => void this.refresh());
      client.on('error', lost);
      await client.query(`listen ${this.o.channel}`);
      // Whatever changed while nobody listened.
      if (catchUp) await this.refresh();
    } catch (err) {
      if (client === undefined) {
        log.warn({ err: (err as Error).message }, `${what} listener failed; retrying`);
        this.relisten = setTimeout(() => void this.listen(true), RELISTEN_MS);
      } else lost(err as Error);
    }
  }

  private dropListener(): void {
    const client = this.listener;
    this.listener = undefined;
    // Not returned to the pool: a listening connection would keep its LISTEN.
    client?.release(true);
  }
}
