import { readConfig } from '../../src/config/config.js';
import { storeBatch, type BatchResult } from '../../src/db/ingestBatch.js';
import type { Pool } from '../../src/db/pool.js';
import { CODECS } from '../../src/ingest/codecs/index.js';
import { Decoder } from '../../src/ingest/decoder.js';

/** One reading as a device sends it in this server's own format (heru/v1). */
export interface SentReading {
  time: string | Date;
  temperature?: number | null;
  boot?: number;
  seq?: number;
  sensor?: string;
  battery_pct?: number;
  /** When the server received it; default one second after `time`. */
  receivedAt?: Date;
}

/**
 * Stores readings through ingest's own decoder and batch commit, each as one
 * message on `heru/v1/devices/{id}/readings`, exactly as if they had come over MQTT
 * at their receive time. Returns what ingest hands to later stages.
 */
export class Feed {
  private readonly decoder: Decoder;

  constructor(private readonly pool: Pool) {
    const config = readConfig({ DATABASE_URL: 'postgres://127.0.0.1/unused' });
    this.decoder = new Decoder(CODECS, config.ingest);
  }

  async store(deviceId: string, readings: readonly SentReading[]): Promise<BatchResult> {
    const decoded = readings.map((r) => {
      const time = new Date(r.time);
      const { receivedAt, ...body } = r;
      return this.decoder.decode({
        topic: `heru/v1/devices/${deviceId}/readings`,
        payload: Buffer.from(JSON.stringify({ ...body, time: time.toISOString() })),
        qos: 1,
        retain: false,
        receivedAt: receivedAt ?? new Date(time.getTime() + 1000),
      });
    });
    for (const d of decoded) {
      if (d.quarantine)
        throw new Error(`test reading quarantined: ${d.quarantine.detail}`);
    }
    return storeBatch(this.pool, decoded);
  }
}

/** Readings every `stepMinutes` from `start`, one per temperature. */
export function series(
  start: string,
  stepMinutes: number,
  temperatures: ReadonlyArray<number | null>,
): SentReading[] {
  const t0 = Date.parse(start);
  return temperatures.map((temperature, i) => ({
    time: new Date(t0 + i * stepMinutes * 60_000),
    temperature,
  }));
}
