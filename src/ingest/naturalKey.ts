import { createHash } from 'node:crypto';

/**
 * The identity of a reading within its device, so that a redelivered, replayed or
 * retained copy is recognised and stored once (DESIGN promise 2):
 *
 * - `s:{boot}:{seq}` when the device numbers its readings and counts its boots;
 * - `t:{ms}` when it has a trusted clock but not both numbers (a sequence number
 *   without a boot counter starts again at a reboot, so alone it would make the
 *   readings after a reboot look like copies of those before);
 * - `h:{hash}:{window}:{index}` otherwise: a hash of the raw bytes within a window of
 *   receive time, so a copy that arrives within the same window is one reading while
 *   the same values sent again 30 s later are a new one.
 *
 * Each is followed by `:{sensor}` for a device with several probes.
 */
export function naturalKey(parts: {
  boot: number | null;
  seq: number | null;
  trustedTimeMs: number | null;
  payloadHash: string;
  index: number;
  receivedAtMs: number;
  windowMs: number;
  sensor: string;
}): string {
  const suffix = parts.sensor === '' ? '' : `:${parts.sensor}`;
  if (parts.seq !== null && parts.boot !== null)
    return `s:${parts.boot}:${parts.seq}${suffix}`;
  if (parts.trustedTimeMs !== null) return `t:${parts.trustedTimeMs}${suffix}`;
  const window = Math.floor(parts.receivedAtMs / parts.windowMs);
  return `h:${parts.payloadHash}:${window}:${parts.index}${suffix}`;
}

/** First 16 bytes of the payload's SHA-256, hex. */
export function payloadHash(payload: Buffer): string {
  return createHash('sha256').update(payload).digest('hex').slice(0, 32);
}
