/**
 * What the simulator sends: this server's own format on `heru/v1/devices/{id}/readings`
 * (QoS 1, one reading or an array), or the existing Heru firmware's on
 * `heru/sensors/{id}` (QoS 0, temperature and humidity only, no time).
 */

/** One reading in the wire format of `heru/v1` (see src/ingest/codecs/heruV1.ts). */
export interface HeruV1Reading {
  boot: number;
  seq: number;
  /** ISO 8601 in UTC. */
  time: string;
  /** °C; null when the sensor read failed (NaN on the device). */
  temperature: number | null;
  /** %RH. */
  humidity?: number | null;
  battery_pct?: number;
  /** Volts. */
  battery_v?: number;
  /** dBm. */
  rssi?: number;
  unit?: 'C';
  sensor?: string;
}

/** Which of the two formats to send. */
export type WireFormat = 'heru-v1' | 'firmware';

/** One MQTT message ready to publish, with the number of readings it carries. */
export interface OutgoingMessage {
  topic: string;
  payload: string;
  qos: 0 | 1;
  readings: number;
}

export function heruV1Topic(deviceId: string): string {
  return `heru/v1/devices/${deviceId}/readings`;
}

export function firmwareTopic(deviceId: string): string {
  return `heru/sensors/${deviceId}`;
}

/** Most readings the simulator puts in one array message (the server takes 5000). */
export const MAX_BATCH = 5000;

/**
 * Messages in `heru/v1` for the readings: a single reading as an object, several as
 * arrays of at most `batchSize` (default 500), each reading keeping its own time,
 * boot and sequence number.
 */
export function heruV1Messages(
  deviceId: string,
  readings: readonly HeruV1Reading[],
  batchSize = 500,
): OutgoingMessage[] {
  const topic = heruV1Topic(deviceId);
  if (readings.length === 1) {
    return [{ topic, payload: JSON.stringify(readings[0]), qos: 1, readings: 1 }];
  }
  const out: OutgoingMessage[] = [];
  for (let i = 0; i < readings.length; i += batchSize) {
    const chunk = readings.slice(i, i + batchSize);
    out.push({ topic, payload: JSON.stringify(chunk), qos: 1, readings: chunk.length });
  }
  return out;
}

/**
 * The existing firmware's message for one reading, printed the way it prints it:
 * two decimals, a space after each colon, `null` for a failed read.
 */
export function firmwareMessage(deviceId: string, r: HeruV1Reading): OutgoingMessage {
  const num = (v: number | null | undefined): string =>
    v === null || v === undefined ? 'null' : v.toFixed(2);
  const payload =
    `{"device_id": ${JSON.stringify(deviceId)},` +
    `"temperature": ${num(r.temperature)},"humidity": ${num(r.humidity)}}`;
  return { topic: firmwareTopic(deviceId), payload, qos: 0, readings: 1 };
}
