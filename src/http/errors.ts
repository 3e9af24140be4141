/**
 * The API's errors: a stable code clients branch on, the HTTP status, and a sentence.
 * Every error body is `{ "error": { "code": …, "message": … } }`.
 */
export const API_ERRORS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  TOKEN_NOT_FOUND: 404,
  TOKEN_EXISTS: 409,
  DEVICE_NOT_FOUND: 404,
  DEVICE_ALREADY_REGISTERED: 409,
  READING_NOT_FOUND: 404,
  NOT_FOUND: 404,
  BATCH_NOT_FOUND: 404,
  PROOF_PENDING: 404,
  RECIPIENT_NOT_FOUND: 404,
  CHANNEL_NOT_FOUND: 404,
  DELIVERY_NOT_FOUND: 404,
  CHANNEL_EXISTS: 409,
  CHANNEL_NOT_CONFIGURED: 409,
  ALARM_NOT_FOUND: 404,
  ALARM_ALREADY_ACKNOWLEDGED: 409,
  ALARM_ALREADY_CLEARED: 409,
  ALARM_STILL_OUT_OF_RANGE: 409,
  PROFILE_NOT_FOUND: 404,
  PROFILE_INVALID: 400,
  MAPPING_NOT_FOUND: 404,
  MAPPING_INVALID: 400,
  INTERNAL: 500,
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.status = API_ERRORS[code];
  }
}
