/**
 * The API's errors: a stable code clients branch on, the HTTP status, and a sentence.
 * Every error body is `{ "error": { "code": …, "message": … } }`.
 */
export const API_ERRORS = {
  BAD_REQUEST: 400,
  DEVICE_NOT_FOUND: 404,
  READING_NOT_FOUND: 404,
  NOT_FOUND: 404,
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
