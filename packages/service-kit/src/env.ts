// The env loading machinery both services share: a JSON Schema of variables → checked, coerced values.
/*
 * Each service declares its variables as one JSON Schema object (`properties` keyed by variable
 * name, each with a `default` and a `description` of what it accepts) and maps the checked values
 * into its own Config. The rules live here once: values are trimmed, an empty value counts as unset,
 * ajv fills defaults and coerces integers, and every bad variable is reported at once, one line
 * each, naming the variable, the value (never a secret, never a password) and what it accepts.
 */
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import { redactValue } from './redact.js';

/** One variable: a JSON Schema for its string value, plus what an error line says it accepts. */
export interface EnvVarSchema {
  readonly description: string;
  readonly default?: string | number;
  /** Never printed: error lines show `<redacted>` instead of the value (tokens, keys). */
  readonly secret?: boolean;
  readonly [keyword: string]: unknown;
}

export interface EnvSchema {
  readonly type: 'object';
  readonly properties: { readonly [name: string]: EnvVarSchema };
}

type ValueOf<V> = V extends { type: 'integer' } ? number : string;
/** The checked values: integers as numbers, the rest strings; undefined only without a default. */
export type EnvValues<S extends EnvSchema> = {
  readonly [K in keyof S['properties']]: S['properties'][K] extends { default: unknown }
    ? ValueOf<S['properties'][K]>
    : ValueOf<S['properties'][K]> | undefined;
};

/** Thrown by a service's loadConfig: one line per bad variable in `problems`, all of them at once. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, strict: false });
ajv.addKeyword({ keyword: 'secret', schemaType: 'boolean' });
// loadConfig runs once per process but many times in tests: compile each schema once.
const compiled = new WeakMap<EnvSchema, ValidateFunction>();

/**
 * The variables of `schema` read from `env`, checked. Service-specific checks add their own lines
 * with `invalid()`/`problem()`; `done()` then throws ConfigError if any variable is bad.
 */
export class EnvCheck<S extends EnvSchema> {
  readonly values: EnvValues<S>;
  private readonly given: Record<string, string> = {};
  private readonly problems = new Map<string, string>();

  constructor(
    private readonly schema: S,
    env: Readonly<Record<string, string | undefined>>,
  ) {
    const raw: Record<string, unknown> = {};
    for (const name of Object.keys(schema.properties)) {
      const value = env[name]?.trim();
      if (value !== undefined && value !== '') raw[name] = this.given[name] = value;
    }
    let check = compiled.get(schema);
    if (!check) compiled.set(schema, (check = ajv.compile(schema)));
    if (!check(raw)) {
      for (const e of check.errors ?? []) {
        const name = e.instancePath.slice(1);
        if (name in schema.properties) this.invalid(name);
      }
    }
    this.values = raw as EnvValues<S>;
  }

  /** The value as given, safe to print: `<redacted>` for a secret, URL passwords masked. */
  shown(name: string): string {
    const value = this.given[name] ?? '';
    return this.schema.properties[name]?.secret ? '<redacted>' : redactValue(value);
  }

  /** Reports `name` as invalid: `NAME="value" is invalid<why>: expected <description>`. */
  invalid(name: string, why = ''): void {
    const expected = this.schema.properties[name]?.description ?? 'a valid value';
    this.problem(name, `${name}=${JSON.stringify(this.shown(name))} is invalid${why}: expected ${expected}`);
  }

  /** Reports `name` with a line of its own (the first report of a variable wins). */
  problem(name: string, line: string): void {
    if (!this.problems.has(name)) this.problems.set(name, line);
  }

  /** True when `name` is already reported (later checks of it would only repeat the problem). */
  failed(name: string): boolean {
    return this.problems.has(name);
  }

  /** Throws ConfigError naming every bad variable. */
  done(): void {
    if (this.problems.size > 0) throw new ConfigError([...this.problems.values()]);
  }
}

/** Reads and checks `schema`'s variables from `env`; see EnvCheck. */
export function readEnv<S extends EnvSchema>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): EnvCheck<S> {
  return new EnvCheck(schema, env);
}

/** A comma-separated list: items trimmed, empty items dropped. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Freezes `o` and every object inside it. */
export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    for (const value of Object.values(o)) deepFreeze(value);
    Object.freeze(o);
  }
  return o;
}
