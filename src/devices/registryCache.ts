/**
 * The device registry as ingest holds it: the status of every device an operator
 * registered or disabled, in memory, so that the decoder's check of each message is
 * a map lookup.
 *
 * Loaded at start (a failure is thrown: ingest must not admit a disabled device
 * because the registry could not be read), then again whenever a registry change is
 * committed (a trigger NOTIFYs `heru_devices`, whoever made it) and every
 * `refreshMs`, which also covers a notification lost while the listening connection
 * was down. A failed refresh keeps the last registry and is retried.
 */
import type { Pool, PoolClient } from '../db/pool.js';
import type { Logger } from '../log.js';
import type { RegistryView } from './deviceGate.js';
import type { DeviceStatus } from './registration.js';

/** Milliseconds between two loads without a notification, default 30 000. */
export const REGISTRY_REFRESH_MS = 30_000;
const RELISTEN_MS = 5_000;
const CHANNEL = 'heru_devices';

export class DeviceRegistryCache implements RegistryView {
  private statuses = new Map<string, DeviceStatus>();
  private listener: PoolClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private relisten: NodeJS.Timeout | undefined;
  private closed = false;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly pool: Pool,
    private readonly log: Logger,
    private readonly refreshMs = REGISTRY_REFRESH_MS,
  ) {}

  async start(): Promise<void> {
    await this.load();
    await this.listen(false);
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  statusOf(deviceId: string): DeviceStatus | undefined {
    return this.statuses.get(deviceId);
  }

  /** Devices held: registered or disabled. */
  get size(): number {
    return this.statuses.size;
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
          await this.load();
        } catch (err) {
          this.log.warn(
            { err: (err as Error).message },
            'device registry refresh failed',
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

  private async load(): Promise<void> {
    const { rows } = await this.pool.query<{ device_id: string; status: DeviceStatus }>(
      `select device_id, status from device
       where registered_at is not null or status <> 'active'`,
    );
    const next = new Map(rows.map((r) => [r.device_id, r.status]));
    const disabled = rows.filter((r) => r.status === 'disabled').length;
    if (next.size !== this.statuses.size || disabled !== this.disabledCount())
      this.log.info({ devices: next.size, disabled }, 'device registry loaded');
    this.statuses = next;
  }

  private disabledCount(): number {
    let n = 0;
    for (const s of this.statuses.values()) if (s === 'disabled') n += 1;
    return n;
  }

  private async listen(catchUp: boolean): Promise<void> {
    if (this.closed) return;
    let client: PoolClient | undefined;
    const lost = (err: Error): void => {
      if (client === undefined || this.listener !== client || this.closed) return;
      this.log.warn(
        { err: err.message },
        'device registry listener lost; listening again',
      );
      this.dropListener();
      this.relisten = setTimeout(() => void this.listen(true), RELISTEN_MS);
    };
    try {
      client = await this.pool.connect();
      this.listener = client;
      client.on('notification', () => void this.refresh());
      client.on('error', lost);
      await client.query(`listen ${CHANNEL}`);
      // Whatever changed while nobody listened.
      if (catchUp) await this.refresh();
    } catch (err) {
      if (client === undefined) {
        this.log.warn({ err: (err as Error).message }, 'device registry listener failed');
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
