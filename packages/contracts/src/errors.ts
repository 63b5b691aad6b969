// Error codes of the HTTP API (a closed union), the HTTP status each one renders with, and the
// error envelope's schema.
import { Enum, Raw, Type } from './shape-kit.js';
import type { Static } from './shape-kit.js';

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

export const errorDetailSchema = Type.Object({
  path: Type.String({
    description: "JSON pointer of the offending value (ajv's instancePath), or the field name.",
  }),
  message: Type.String(),
  keyword: Type.Optional(Type.String()),
  params: Type.Optional(Raw<Record<string, unknown>>({ type: 'object' })),
});
/** A detail may carry more fields than the schema names (ajv's params, a schema problem's reason). */
export type ErrorDetail = Static<typeof errorDetailSchema> & { [extra: string]: unknown };

export const errorObjectSchema = Type.Object(
  {
    code: Enum(ERROR_CODES),
    message: Type.String(),
    details: Type.Union([
      Type.Array(errorDetailSchema),
      Raw<Record<string, unknown> | null>({ type: ['object', 'null'] }),
    ]),
  },
  { additionalProperties: false },
);

/** `{"error": {code, message, details}}`: every error the API answers. */
export const errorBodySchema = Type.Object({ error: errorObjectSchema }, { additionalProperties: false });
/** The envelope's type, with details' extra fields (ErrorDetail) allowed. */
export interface ErrorBody {
  error: Omit<Static<typeof errorObjectSchema>, 'details'> & {
    details: ErrorDetail[] | Record<string, unknown> | null;
  };
}
