// Compiles users' JSON Schemas (param_schema, result_schema) with ajv, cached; picks the draft by `$schema`.
import { Ajv } from 'ajv';
import type { ErrorObject, Options, ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ErrorDetail } from '@taskwire/contracts';
import { AppError } from './errors.js';

// ajv-formats is CommonJS: under NodeNext its default import is the module object on some setups.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

// allErrors: report every violation at once. strict: false: users' schemas may carry keywords ajv
// does not know (`example`, vendor extensions). addUsedSchema: false: two templates may use the same
// `$id` without clashing. logger: false: unknown formats are ignored quietly instead of on stdout.
const OPTIONS: Options = { allErrors: true, strict: false, addUsedSchema: false, logger: false };

type Draft = 'draft-07' | '2019-09' | '2020-12';
const instances = new Map<Draft, Ajv>();

function ajvFor(draft: Draft): Ajv {
  let ajv = instances.get(draft);
  if (!ajv) {
    ajv =
      draft === '2020-12'
        ? new Ajv2020(OPTIONS)
        : draft === '2019-09'
          ? new Ajv2019(OPTIONS)
          : new Ajv(OPTIONS);
    addFormats(ajv);
    instances.set(draft, ajv);
  }
  return ajv;
}

/** Which dialect a schema asks for: its `$schema`, draft-07 when absent. Null: not supported. */
export function schemaDraft(schema: Record<string, unknown>): Draft | null {
  const uri = schema.$schema;
  if (uri === undefined) return 'draft-07';
  if (typeof uri !== 'string') return null;
  if (/json-schema\.org\/draft\/2020-12\/schema/.test(uri)) return '2020-12';
  if (/json-schema\.org\/draft\/2019-09\/schema/.test(uri)) return '2019-09';
  if (/json-schema\.org\/draft-0[67]\/schema/.test(uri)) return 'draft-07';
  return null;
}

const MAX_CACHED = 1000;
// Keyed by the schema's JSON text: templates are read afresh from the store for each request, so
// object identity would never hit. Bounded, oldest evicted (and removed from ajv's own cache).
const cache = new Map<string, { validate: ValidateFunction; schema: object; draft: Draft }>();
// Items of one batch share their template object: skip the JSON.stringify for all but the first.
const byObject = new WeakMap<object, ValidateFunction>();

/**
 * A validator for `schema` (cached). Throws AppError bad_request naming `field` with ajv's message
 * when the schema does not compile (bad keyword values, unresolvable $ref, unsupported $schema).
 */
export function compileSchema(schema: Record<string, unknown>, field = 'schema'): ValidateFunction {
  const known = byObject.get(schema);
  if (known) return known;
  const key = JSON.stringify(schema);
  const hit = cache.get(key);
  if (hit) {
    byObject.set(schema, hit.validate);
    return hit.validate;
  }
  const draft = schemaDraft(schema);
  if (draft === null) {
    throw AppError.badRequest(
      `${field}.$schema ${JSON.stringify(schema.$schema)} is not supported: use draft-07, 2019-09 or 2020-12`,
      [{ path: `/${field}/$schema`, message: 'unsupported $schema' }],
    );
  }
  const ajv = ajvFor(draft);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (err) {
    const reason = (err as Error).message;
    throw AppError.badRequest(`${field} is not a valid JSON Schema (${draft}): ${reason}`, [
      { path: `/${field}`, message: reason },
    ]);
  }
  if (cache.size >= MAX_CACHED) {
    const [oldKey, old] = cache.entries().next().value as [string, { schema: object; draft: Draft }];
    cache.delete(oldKey);
    ajvFor(old.draft).removeSchema(old.schema);
  }
  cache.set(key, { validate, schema, draft });
  byObject.set(schema, validate);
  return validate;
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
  schema: Record<string, unknown>,
  value: unknown,
  field: string,
  message: string,
): void {
  const validate = compileSchema(schema, field);
  if (validate(value)) return;
  const details = ajvDetails(validate.errors);
  const summary = details.map((d) => `${d.path || '/'} ${d.message}`).join('; ');
  throw new AppError('validation_failed', `${message}: ${summary}`, details);
}
