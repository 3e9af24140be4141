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
import { NotifiedRefresh } from '../db/notifiedRefresh.js';
import type { Pool } from '../db/pool.js';
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

export class MappingRegistry
  extends EventEmitter<{ topics: [readonly string[]] }>
  implements MappingSource, DeviceDirectory
{
  private current: readonly Mapping[] = [];
  private settings = new Map<string, DeviceSettings>();
  private signature = '';
  private readonly keeper: NotifiedRefresh;

  constructor(
    private readonly pool: Pool,
    private readonly log: Logger,
    refreshMs = MAPPING_REFRESH_MS,
  ) {
    super();
    this.keeper = new NotifiedRefresh({
      pool,
      log,
      channel: 'heru_mappings',
      what: 'mapping',
      refreshMs,
      load: () => this.load(),
    });
  }

  /** Loads everything once (a failure is thrown), then keeps it fresh. */
  start(): Promise<void> {
    return this.keeper.start();
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
    return this.keeper.refresh();
  }

  close(): Promise<void> {
    return this.keeper.close();
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
}
