import type { IngestConfig } from '../config/config.js';
import { mappedCodec } from '../ingest/codecs/mapped.js';
import { Decoder, type DeviceDirectory } from '../ingest/decoder.js';
import type { Mapping } from './mapping.js';

/** What ingest would make of one message under a mapping, without storing anything. */
export interface DryRun {
  outcome: 'stored' | 'status' | 'quarantined';
  device_id: string | null;
  reason: string | null;
  detail: string | null;
  readings: Array<{
    sensor: string;
    time: string;
    time_source: string;
    device_time: string | null;
    temperature_c: number | null;
    humidity_pct: number | null;
    battery_pct: number | null;
    battery_v: number | null;
    rssi_dbm: number | null;
    quality: string;
    flags: string[];
  }>;
}

/** The limits ingest applies by default (src/config/config.ts). */
const DEFAULTS: IngestConfig = {
  batchSize: 1,
  lingerMs: 0,
  maxPending: 1,
  maxPayloadBytes: 262_144,
  maxClockAheadSeconds: 300,
  timelessDedupSeconds: 15,
};

/**
 * Decodes `payload` on `topic` with `mapping` alone, as ingest would on receipt at
 * `receivedAt`: the operator's check of a mapping before devices use it.
 */
export function dryRun(
  mapping: Mapping,
  topic: string,
  payload: Buffer,
  devices: DeviceDirectory,
  receivedAt = new Date(),
): DryRun {
  const decoder = new Decoder(
    [mappedCodec({ mappings: () => [mapping] })],
    DEFAULTS,
    devices,
  );
  const m = decoder.decode({ topic, payload, qos: 1, retain: false, receivedAt });
  const outcome = m.quarantine ? 'quarantined' : m.status ? 'status' : 'stored';
  return {
    outcome,
    device_id: m.deviceId,
    reason: m.quarantine?.reason ?? null,
    detail: m.quarantine?.detail ?? null,
    readings: m.readings.map((r) => ({
      sensor: r.sensor,
      time: r.time.toISOString(),
      time_source: r.timeSource,
      device_time: r.deviceTime?.toISOString() ?? null,
      temperature_c: r.temperatureC,
      humidity_pct: r.humidityPct,
      battery_pct: r.batteryPct,
      battery_v: r.batteryV,
      rssi_dbm: r.rssiDbm,
      quality: r.quality,
      flags: r.flags,
    })),
  };
}
