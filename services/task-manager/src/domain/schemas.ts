// Users' JSON Schemas (param_schema, result_schema) in the domain: the shared compiler's refusals as AppErrors, ajv errors as details.
import { SchemaCompiler, SchemaError } from '@taskwire/json-schema';
import type { ErrorObject, ValidateFunction } from '@taskwire/json-schema';
import type { ErrorDetail } from '@taskwire/contracts';
import type { DomainDeps } from './deps.js';
import { AppError } from './errors.js';

/** Used when the deps bring no compiler (tests): the default limits. */
const shared = new SchemaCompiler();

/** The compiler built from SCHEMA_MAX_* (server.ts), or one with the default limits. */
export function schemaCompiler(deps: Pick<DomainDeps, 'schemas'>): SchemaCompiler {
  return deps.schemas ?? shared;
}

/**
 * The API error for a refused schema: 413 payload_too_large over SCHEMA_MAX_BYTES, 400 bad_request
 * for everything else (depth, nodes, $schema, a pattern RE2 cannot run, an invalid schema). The
 * detail carries the path and what was exceeded or refused (`limit`, `keyword`, `pattern`).
 */
export function schemaAppError(err: SchemaError): AppError {
  const detail: ErrorDetail = { ...err.details, path: err.path, message: err.message, reason: err.reason };
  return new AppError(err.reason === 'too_large' ? 'payload_too_large' : 'bad_request', err.message, [
    detail,
  ]);
}

function translate<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SchemaError) throw schemaAppError(err);
    throw err;
  }
}

/** The cheap checks only (limits, $schema, patterns), no compile. Throws AppError naming `field`. */
export function checkSchema(compiler: SchemaCompiler, schema: Record<string, unknown>, field: string): void {
  translate(() => compiler.check(schema, field));
}

/** A validator for `schema` (cached). Throws AppError naming `field` when it is refused or does not compile. */
export function compileSchema(
  compiler: SchemaCompiler,
  schema: Record<string, unknown>,
  field: string,
): ValidateFunction {
  return translate(() => compiler.compile(schema, field));
}

/** ajv errors as API error details: path (instancePath, "" for the root), message, keyword, params. */
export function ajvDetails(errors: readonly ErrorObject[] | null | undefined, prefix = ''): ErrorDetail[] {
  return (errors ?? []).map((e) => ({
    path: prefix + e.instancePath,
    message: e.message ?? 'is invalid',
    keyword: e.keyword,
    params: e.params,
  }));
}

/** Throws AppError validation_failed (422) listing every violation of `schema` (named `field`) by `value`. */
export function assertMatches(
  compiler: SchemaCompiler,
  schema: Record<string, unknown>,
  value: unknown,
  field: string,
  message: string,
): void {
  const validate = compileSchema(compiler, schema, field);
  if (validate(value)) return;
  const details = ajvDetails(validate.errors);
  const summary = details.map((d) => `${d.path || '/'} ${d.message}`).join('; ');
  throw new AppError('validation_failed', `${message}: ${summary}`, details);
}
