// SchemaError: why a user schema was refused, as a closed set of reasons each service maps to its own errors.
export type SchemaErrorReason =
  /** Over SCHEMA_MAX_BYTES as compact JSON. */
  | 'too_large'
  /** Over SCHEMA_MAX_DEPTH. */
  | 'too_deep'
  /** Over SCHEMA_MAX_NODES. */
  | 'too_many_nodes'
  /** `$schema` names a dialect other than draft-07, 2019-09 or 2020-12. */
  | 'unsupported_draft'
  /** A `pattern` / `patternProperties` regex RE2 cannot run (backreference, lookaround) or parse. */
  | 'unsupported_pattern'
  /** Not a valid JSON Schema of its draft (bad keyword value, unresolvable `$ref`, …). */
  | 'invalid';

export class SchemaError extends Error {
  override readonly name = 'SchemaError';
  constructor(
    readonly reason: SchemaErrorReason,
    message: string,
    /** JSON pointer of the offending part, starting with the field name: `/param_schema/properties/a/pattern`. */
    readonly path: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
