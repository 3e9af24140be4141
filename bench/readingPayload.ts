/**
 * The readings the benchmark publishes, in this server's own format
 * (`heru/v1/devices/{id}/readings`): a boot counter (one per benchmark phase), a sequence number per device,
 * the device's time, temperature, humidity and signal strength.
 */
import { isoTime } from '../src/db/pgArray.js';

/** Device id of the benchmark's device number `n` (0-based). */
export function benchDeviceId(n: number): string {
  return `bench-${String(n).padStart(5, '0')}`;
}

export function readingsTopic(deviceId: string): string {
  return `heru/v1/devices/${deviceId}/readings`;
}

const TEMPERATURES = Array.from({ length: 300 }, (_, i) => (4 + i / 100).toFixed(2));
const HUMIDITIES = Array.from({ length: 100 }, (_, i) => (45 + i / 10).toFixed(1));

/** One reading as JSON text; the values vary a little with the sequence number. */
export function readingJson(boot: number, seq: number, timeMs: number): string {
  const temperature = TEMPERATURES[seq % 300]!;
  const humidity = HUMIDITIES[seq % 100]!;
  const time = isoTime(new Date(timeMs));
  return `{"boot":${boot},"seq":${seq},"time":"${time}","temperature":${temperature},"humidity":${humidity},"rssi":-${60 + (seq % 20)}}`;
}

/**
 * The payload of one message (ASCII text): a single reading object when `perMessage` is 1, else
 * a JSON array of `perMessage` consecutive readings (a device flushing its buffer).
 * Reading `i` has sequence number `firstSeq + i` and time `firstTimeMs + i`: a
 * device's readings never share a time, or the rule engine would take the second as
 * a late arrival.
 */
export function payloadOf(
  boot: number,
  firstSeq: number,
  perMessage: number,
  firstTimeMs: number,
): string {
  if (perMessage === 1) return readingJson(boot, firstSeq, firstTimeMs);
  const items: string[] = [];
  for (let i = 0; i < perMessage; i += 1)
    items.push(readingJson(boot, firstSeq + i, firstTimeMs + i));
  return `[${items.join(',')}]`;
}
