// Error codes of the HTTP API (a closed union) and the HTTP status each one renders with.

export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  invalid_transition: 409,
  payload_too_large: 413,
  validation_failed: 422,
  internal_error: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export interface ErrorDetail {
  /** JSON pointer of the offending value (ajv's instancePath), or the field name. */
  path: string;
  message: string;
  [extra: string]: unknown;
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: ErrorDetail[] | Record<string, unknown> | null };
}
