// SchemaCompiler: users' JSON Schemas -> ajv validators, after the size limits, cached by content
// hash in Ajv "generations" that are dropped whole, because ajv never frees what one compile adds.
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { DEFAULT_DRAFT, DRAFTS, META_SCHEMA_URI, draftOf, newAjv } from './drafts.js';
import type { Draft } from './drafts.js';
import { SchemaError } from './errors.js';
import { DEFAULT_SCHEMA_LIMITS, assertWithinLimits, schemaHash } from './limits.js';
import type { SchemaLimits } from './limits.js';
import { findUnsupportedPattern, linearPatternProblem } from './regexp.js';

export interface SchemaCompilerOptions {
  limits?: Partial<SchemaLimits>;
  /** Compiled schemas (and compile errors) kept, least recently used evicted first. Default 1000. */
  maxCached?: number;
  /** Schemas compiled into one set of Ajv instances before a new set starts. Default 250. */
  generationSize?: number;
  /**
   * Generations alive at once: when a new one would exceed this, the oldest is dropped with every
   * cache entry still in it (they compile again on next use). Default 8. With the defaults ajv
   * holds at most 8 × 250 schemas, whatever the traffic.
   */
  maxGenerations?: number;
}

export interface SchemaCompilerStats {
  /** Validators and compile errors in the cache. */
  cached: number;
  /** Generations alive (the current one included). */
  generations: number;
  /** Generations dropped so far, their Ajv instances with them. */
  retired: number;
  /** ajv.compile calls so far. */
  compiles: number;
}

/** One set of Ajv instances (one per draft), dropped whole once no cache entry points into it. */
class Generation {
  private readonly ajvs = new Map<Draft, Ajv>();
  /** Compiles into this generation (failed ones too: they may leave state in ajv's scope). */
  compiled = 0;
  /** Cache entries that point into this generation. */
  live = 0;
  retired = false;

  ajv(draft: Draft): Ajv {
    let ajv = this.ajvs.get(draft);
    if (!ajv) {
      ajv = newAjv(draft);
      this.ajvs.set(draft, ajv);
    }
    return ajv;
  }

  retire(): void {
    this.retired = true;
    this.ajvs.clear();
  }
}

interface Entry {
  validate?: ValidateFunction;
  error?: SchemaError;
  generation: Generation;
}

/** A validator, or the reason the schema was refused. */
export type CompileResult =
  { validate: ValidateFunction; error?: undefined } | { validate?: undefined; error: SchemaError };

/**
 * Compiles users' JSON Schemas safely; one per process (manager or worker), built from its config.
 *
 * @example
 * const schemas = new SchemaCompiler({ limits: { maxBytes: 65_536 } });
 * const validate = schemas.compile(template.paramSchema, 'param_schema'); // throws SchemaError
 * if (!validate(params)) report(validate.errors);
 */
export class SchemaCompiler {
  readonly limits: Readonly<SchemaLimits>;
  private readonly maxCached: number;
  private readonly generationSize: number;
  private readonly maxGenerations: number;
  private readonly cache = new Map<string, Entry>();
  private readonly generations: Generation[] = [];
  // Items of one batch share their template object: skip measuring and hashing for all but the first.
  private readonly byObject = new WeakMap<object, Entry>();
  private retiredCount = 0;
  private compiles = 0;

  constructor(options: SchemaCompilerOptions = {}) {
    this.limits = Object.freeze({ ...DEFAULT_SCHEMA_LIMITS, ...options.limits });
    this.maxCached = options.maxCached ?? 1000;
    this.generationSize = options.generationSize ?? 250;
    this.maxGenerations = options.maxGenerations ?? 8;
  }

  /**
   * Only the cheap checks, no compile: the size limits, `$schema` and that RE2 takes every
   * `pattern` / `patternProperties` regex (parsing one is linear in its length). Throws SchemaError naming
   * `field`. Callers run it before their other checks that need the store or a compile.
   */
  check(schema: Record<string, unknown>, field = 'schema'): Draft {
    assertWithinLimits(schema, this.limits, field);
    return this.checkContent(schema, field);
  }

  /** A validator for `schema`, cached. Throws SchemaError (limits, draft, pattern, invalid schema). */
  compile(schema: Record<string, unknown>, field = 'schema'): ValidateFunction {
    const entry = this.entry(schema, field);
    if (entry.validate) return entry.validate;
    throw rename(entry.error!, field);
  }

  /** compile() without throwing: the worker fails the task with the reason instead. */
  tryCompile(schema: Record<string, unknown>, field = 'schema'): CompileResult {
    try {
      return { validate: this.compile(schema, field) };
    } catch (err) {
      if (err instanceof SchemaError) return { error: err };
      throw err;
    }
  }

  stats(): SchemaCompilerStats {
    return {
      cached: this.cache.size,
      generations: this.generations.length,
      retired: this.retiredCount,
      compiles: this.compiles,
    };
  }

  private entry(schema: Record<string, unknown>, field: string): Entry {
    const known = this.byObject.get(schema);
    if (known && !known.generation.retired) return known;
    // The limits come first, on every call: hashing walks the whole schema, and a hit must not
    // outlive a lowered limit. The rest of check() only matters before a compile.
    assertWithinLimits(schema, this.limits, field);
    const key = schemaHash(schema);
    const hit = this.cache.get(key);
    if (hit) {
      // Least recently used goes first: move the hit to the end.
      this.cache.delete(key);
      this.cache.set(key, hit);
      this.byObject.set(schema, hit);
      return hit;
    }
    const draft = this.checkContent(schema, field);
    const generation = this.currentGeneration();
    const entry: Entry = { generation, ...this.compileIn(generation, draft, schema, field) };
    generation.compiled++;
    generation.live++;
    this.cache.set(key, entry);
    this.byObject.set(schema, entry);
    while (this.cache.size > this.maxCached) {
      const [oldKey, old] = this.cache.entries().next().value as [string, Entry];
      this.evict(oldKey, old);
    }
    return entry;
  }

  /** `$schema` names a supported draft (returned) and RE2 takes every pattern. */
  private checkContent(schema: Record<string, unknown>, field: string): Draft {
    const draft = draftOf(schema.$schema, DEFAULT_DRAFT);
    if (!draft) throw unsupportedDraft(schema, field);
    const bad = findUnsupportedPattern(schema);
    if (bad) throw patternError(bad.keyword, bad.pattern, `/${field}${bad.path}`, field);
    return draft;
  }

  private compileIn(
    generation: Generation,
    draft: Draft,
    schema: Record<string, unknown>,
    field: string,
  ): { validate: ValidateFunction } | { error: SchemaError } {
    const ajv = generation.ajv(draft);
    // Spelling variants of a known $schema (http/https, `#`, draft-06) become the URI ajv knows.
    const input =
      schema.$schema === undefined || schema.$schema === META_SCHEMA_URI[draft]
        ? schema
        : { ...schema, $schema: META_SCHEMA_URI[draft] };
    this.compiles++;
    try {
      return { validate: ajv.compile(input) };
    } catch (err) {
      return { error: explain(err as Error, ajv.errors, schema, field, draft) };
    }
  }

  private currentGeneration(): Generation {
    let current = this.generations[this.generations.length - 1];
    if (current && current.compiled < this.generationSize) return current;
    if (current && current.live === 0) this.retire(current);
    current = new Generation();
    this.generations.push(current);
    while (this.generations.length > this.maxGenerations) {
      const oldest = this.generations[0]!;
      for (const [key, entry] of this.cache) if (entry.generation === oldest) this.evict(key, entry);
      if (!oldest.retired) this.retire(oldest);
    }
    return current;
  }

  private evict(key: string, entry: Entry): void {
    this.cache.delete(key);
    const g = entry.generation;
    g.live--;
    // The current generation keeps its Ajv instances: it is still being filled.
    if (g.live === 0 && g !== this.generations[this.generations.length - 1]) this.retire(g);
  }

  private retire(g: Generation): void {
    if (g.retired) return;
    g.retire();
    const i = this.generations.indexOf(g);
    if (i >= 0) this.generations.splice(i, 1);
    this.retiredCount++;
  }
}

/** The same error, its message and path naming `field` (a cached error may have come in under another). */
function rename(error: SchemaError, field: string): SchemaError {
  const from = error.path.split('/')[1] ?? '';
  if (from === field) return error;
  return new SchemaError(
    error.reason,
    error.message.startsWith(from) ? field + error.message.slice(from.length) : error.message,
    `/${field}${error.path.slice(from.length + 1)}`,
    error.details,
  );
}

/**
 * Turns ajv's compile error into a SchemaError. A regex RE2 refuses shows up either as a `regex`
 * format error of the meta-schema (with its path) or, where the meta-schema does not look (a
 * `$defs` under draft-07), as RE2's own syntax error: then the pattern is looked up in the schema.
 */
function explain(
  err: Error,
  metaErrors: ErrorObject[] | null | undefined,
  schema: Record<string, unknown>,
  field: string,
  draft: Draft,
): SchemaError {
  const fromMeta = err.message.startsWith('schema is invalid') ? (metaErrors ?? []) : [];
  const regexError = fromMeta.find((e) => e.keyword === 'format' && e.params.format === 'regex');
  if (regexError) {
    const propertyName = (regexError as ErrorObject & { propertyName?: string }).propertyName;
    const pattern = propertyName ?? String(valueAt(schema, regexError.instancePath));
    const keyword = propertyName !== undefined ? 'patternProperties' : 'pattern';
    const path =
      propertyName !== undefined
        ? `${regexError.instancePath}/${escapePointer(propertyName)}`
        : regexError.instancePath;
    return patternError(keyword, pattern, `/${field}${path}`, field);
  }
  if (err.name === 'RE2JSSyntaxException' || /error parsing regexp/.test(err.message)) {
    const found = findUnsupportedPattern(schema);
    if (found) return patternError(found.keyword, found.pattern, `/${field}${found.path}`, field);
  }
  const reason =
    fromMeta.length > 0
      ? fromMeta.map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')
      : err.message;
  return new SchemaError(
    'invalid',
    `${field} is not a valid JSON Schema (${draft}): ${reason}`,
    `/${field}`,
    { ajv_error: reason },
  );
}

function patternError(keyword: string, pattern: string, path: string, field: string): SchemaError {
  const why = linearPatternProblem(pattern) ?? 'not a valid regular expression';
  return new SchemaError(
    'unsupported_pattern',
    `${field}: ${keyword} ${JSON.stringify(pattern)} at ${path} is not supported by the linear-time regex engine (RE2: no backreferences, no lookaround): ${why}`,
    path,
    { keyword, pattern, re2_error: why },
  );
}

function valueAt(schema: unknown, pointer: string): unknown {
  let v = schema;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  }
  return v;
}

const escapePointer = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');

function unsupportedDraft(schema: Record<string, unknown>, field: string): SchemaError {
  return new SchemaError(
    'unsupported_draft',
    `${field}.$schema ${JSON.stringify(schema.$schema)} is not supported: use ${DRAFTS.map((d) => JSON.stringify(META_SCHEMA_URI[d])).join(', ')} (none: ${DEFAULT_DRAFT})`,
    `/${field}/$schema`,
    { supported: DRAFTS },
  );
}
