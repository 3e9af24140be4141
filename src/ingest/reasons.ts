/**
 * Why a raw message was quarantined instead of stored as readings. These codes are a
 * contract: they are stored with the raw message, counted per device, exported as
 * metric labels and documented in docs/quarantine.md.
 */
export const QUARANTINE_REASONS = {
  INVALID_JSON: 'The payload is not valid JSON (a bare nan token, a cut-off message).',
  INVALID_PAYLOAD: 'The JSON does not have the expected shape or types.',
  DEVICE_TOPIC_MISMATCH:
    'The device id in the payload differs from the one in the topic.',
  INVALID_DEVICE_ID:
    'The device id is empty, too long or has characters outside [A-Za-z0-9._:-].',
  PAYLOAD_TOO_LARGE: 'The payload is larger than MAX_PAYLOAD_BYTES.',
  UNKNOWN_TOPIC: 'No codec handles this topic.',
  STORAGE_REJECTED: 'PostgreSQL refused the decoded message (a value it cannot hold).',
} as const;

export type QuarantineReason = keyof typeof QUARANTINE_REASONS;

/** A message that cannot become readings: the reason code and a sentence saying what was wrong. */
export class Quarantine extends Error {
  override readonly name = 'Quarantine';

  constructor(
    readonly reason: QuarantineReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}
