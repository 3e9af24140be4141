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
  MAPPING_MISMATCH:
    'The payload does not fit the mapping of its topic (a value missing or of the wrong type).',
  STORAGE_REJECTED: 'PostgreSQL refused the decoded message (a value it cannot hold).',
  DEVICE_DISABLED: 'The device is disabled in the device registry.',
  DEVICE_UNKNOWN: 'The device is not registered, and REQUIRE_DEVICE_REGISTRATION is on.',
  DECODE_FAILED:
    'The decoder failed on this payload: a server bug, the raw bytes are kept.',
} as const;

export type QuarantineReason = keyof typeof QUARANTINE_REASONS;

/** Longest detail sentence kept, in characters. */
export const MAX_DETAIL_LENGTH = 500;

/** A message that cannot become readings: the reason code and a sentence saying what was wrong. */
export class Quarantine extends Error {
  override readonly name = 'Quarantine';
  /** What was wrong, safe to store as PostgreSQL text; see `storableDetail`. */
  readonly detail: string;

  constructor(
    readonly reason: QuarantineReason,
    detail: string,
  ) {
    const safe = storableDetail(detail);
    super(`${reason}: ${safe}`);
    this.detail = safe;
  }
}

/**
 * A detail sentence fit for a text column: control characters (the payload's NUL
 * bytes, which a JSON parser's message may quote, would make PostgreSQL refuse the
 * whole batch) and lone surrogates are written as `\uXXXX`, and the sentence is cut
 * to MAX_DETAIL_LENGTH characters.
 */
export function storableDetail(detail: string): string {
  const escaped = detail.replace(
    /[\p{Cc}\p{Cs}]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  if (escaped.length <= MAX_DETAIL_LENGTH) return escaped;
  // Counted and cut in code points, so that no half of a surrogate pair is left.
  const points = Array.from(escaped);
  if (points.length <= MAX_DETAIL_LENGTH) return escaped;
  return `${points.slice(0, MAX_DETAIL_LENGTH - 1).join('')}…`;
}
