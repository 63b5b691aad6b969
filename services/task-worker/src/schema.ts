// Compiles user JSON Schemas (template param_schema, executor schemas) with ajv, cached by content.
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => void;

function makeAjv<T extends Ajv>(ctor: new (opts: object) => T): T {
  // addUsedSchema false: two templates may carry the same $id without clashing in one instance.
  const ajv = new ctor({ allErrors: true, strict: false, addUsedSchema: false });
  addFormats(ajv);
  return ajv;
}

const draft2020 = makeAjv(Ajv2020 as unknown as new (opts: object) => Ajv);
const draft07 = makeAjv(Ajv);

/** 2020-12 by default; draft-07 (and older) when the schema's `$schema` says so. */
function ajvFor(schema: Record<string, unknown>): Ajv {
  const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
  return /draft-0[4-7]/.test(dialect) ? draft07 : draft2020;
}

export interface SchemaProblem {
  path: string;
  message: string;
}

/** Compiles a schema; throws an Error whose message says why it does not compile. */
export function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  return ajvFor(schema).compile(schema);
}

/** ajv errors as { path, message } (path: the JSON pointer of the offending value, "/" for the root). */
export function schemaProblems(errors: ErrorObject[] | null | undefined): SchemaProblem[] {
  return (errors ?? []).map((e) => ({ path: e.instancePath || '/', message: e.message ?? 'is invalid' }));
}

/** "/a must be string; / must have required property 'b'" */
export function formatProblems(problems: SchemaProblem[]): string {
  return problems.map((p) => `${p.path} ${p.message}`).join('; ');
}

const CACHE_LIMIT = 256;

/**
 * Dispatch messages carry their template's param_schema; compiling is ~1000× dearer than checking,
 * so compiled validators are kept by the schema's JSON text (a changed template gets a new entry).
 */
export class SchemaCache {
  private readonly entries = new Map<string, { validate?: ValidateFunction; error?: string }>();

  get(schema: Record<string, unknown>): { validate?: ValidateFunction; error?: string } {
    const key = JSON.stringify(schema);
    let entry = this.entries.get(key);
    if (entry) return entry;
    try {
      entry = { validate: compileSchema(schema) };
    } catch (err) {
      entry = { error: (err as Error).message };
    }
    if (this.entries.size >= CACHE_LIMIT) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, entry);
    return entry;
  }
}
