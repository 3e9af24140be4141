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
import { NotifiedRefresh } from '../db/notifiedRefresh.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../log.js';
import type { RegistryView } from './deviceGate.js';
import type { RegistrationStatus } from './registration.js';

/** Milliseconds between two loads without a notification, default 30 000. */
export const REGISTRY_REFRESH_MS = 30_000;

export class DeviceRegistryCache implements RegistryView {
  private statuses = new Map<string, RegistrationStatus>();
  private readonly keeper: NotifiedRefresh;

  constructor(
    private readonly pool: Pool,
    private readonly log: Logger,
    refreshMs = REGISTRY_REFRESH_MS,
  ) {
    this.keeper = new NotifiedRefresh({
      pool,
      log,
      channel: 'heru_devices',
      what: 'device registry',
      refreshMs,
      load: () => this.load(),
    });
  }

  start(): Promise<void> {
    return this.keeper.start();
  }

  statusOf(deviceId: string): RegistrationStatus | undefined {
    return this.statuses.get(deviceId);
  }

  /** Devices held: registered or disabled. */
  get size(): number {
    return this.statuses.size;
  }

  /** Loads again; calls made while a load runs are served by one more load after it. */
  refresh(): Promise<void> {
    return this.keeper.refresh();
  }

  close(): Promise<void> {
    return this.keeper.close();
  }

  private async load(): Promise<void> {
    const { rows } = await this.pool.query<{
      device_id: string;
      status: RegistrationStatus;
    }>(
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
}
