/**
 * The mappings and device settings ingest decodes with, held in memory: the decoder
 * asks on every message and cannot wait for the database.
 *
 * Loaded at start; then refreshed whenever a change is committed (the tables'
 * triggers NOTIFY `heru_mappings`, whoever made the change: the API, the `heru
 * mapping` command, plain SQL) and every `refreshMs` as well, which also covers a
 * notification lost while the listening connection was down. After each refresh that
 * changes them, `topics` announces the filters the mappings need, so that ingest
 * subscribes to new ones at once.
 */
import { EventEmitter } from 'node:events';
import type { Pool, PoolClient } from '../db/pool.js';
import type { MappingSource } from '../ingest/codecs/mapped.js';
import {
  DEFAULT_DEVICE_SETTINGS,
  type DeviceSettings,
} from '../ingest/codecs/deviceSettings.js';
import type { DeviceDirectory } from '../ingest/decoder.js';
import type { Logger } from '../log.js';
import { loadDeviceSettings } from './deviceSettingStore.js';
import type { Mapping } from './mapping.js';
import { MappingError } from './mappingError.js';
import { compileStored, listMappings } from './mappingStore.js';

/** Milliseconds between two loads without a notification, default 60 000. */
export const MAPPING_REFRESH_MS = 60_000;
const RELISTEN_MS = 5_000;
const CHANNEL = 'heru_mappings';

export class MappingRegistry
  extends EventEmitter<{ topics: [readonly string[]] }>
  implements MappingSource, DeviceDirectory
{
  private current: readonly Mapping[] = [];
  private settings = new Map<string, DeviceSettings>();
  private signature = '';
  private listener: PoolClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private relisten: NodeJS.Timeout | undefined;
  private closed = false;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly pool: Pool,
    private readonly log: Logger,
    private readonly refreshMs = MAPPING_REFRESH_MS,
  ) {
    super();
  }

  /** Loads everything once (a failure is thrown), then keeps it fresh. */
  async start(): Promise<void> {
    await this.load();
    await this.listen();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  mappings(): readonly Mapping[] {
    return this.current;
  }

  settingsOf(deviceId: string): DeviceSettings {
    return this.settings.get(deviceId) ?? DEFAULT_DEVICE_SETTINGS;
  }

  /** The MQTT filters of the current mappings. */
  topics(): string[] {
    return [...new Set(this.current.map((m) => m.topic.filter))];
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
          this.log.warn({ err: (err as Error).message }, 'mapping refresh failed');
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
    const [stored, settings] = await Promise.all([
      listMappings(this.pool),
      loadDeviceSettings(this.pool),
    ]);
    const mappings: Mapping[] = [];
    for (const s of stored) {
      const m = compileStored(s);
      if (m instanceof MappingError)
        this.log.warn(
          { mapping: s.name, err: m.message },
          'mapping skipped: it does not compile',
        );
      else mappings.push(m);
    }
    this.current = mappings;
    this.settings = settings;
    const signature = JSON.stringify(stored.map((s) => [s.name, s.updated_at]));
    if (signature !== this.signature) {
      this.signature = signature;
      this.log.info({ mappings: mappings.map((m) => m.name) }, 'mappings loaded');
      this.emit('topics', this.topics());
    }
  }

  private async listen(catchUp = false): Promise<void> {
    if (this.closed) return;
    let client: PoolClient | undefined;
    const lost = (err: Error): void => {
      if (client === undefined || this.listener !== client || this.closed) return;
      this.log.warn({ err: err.message }, 'mapping listener lost; listening again');
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
        this.log.warn(
          { err: (err as Error).message },
          'mapping listener failed; retrying',
        );
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
