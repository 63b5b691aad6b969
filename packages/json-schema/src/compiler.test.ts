// SchemaCompiler: drafts, limits, linear-time patterns and the generation cache that frees ajv's memory.
import { describe, expect, it } from 'vitest';
import { SchemaCompiler } from './compiler.js';
import { SchemaError } from './errors.js';
import { canonicalJson, measureSchema, schemaHash } from './limits.js';

function refusal(fn: () => unknown): SchemaError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SchemaError) return err;
    throw err;
  }
  throw new Error('expected a SchemaError');
}

describe('patterns run on RE2', () => {
  it('the ReDoS pattern ^(a+)+$ answers a 30-character non-match correctly', () => {
    const validate = new SchemaCompiler().compile({ type: 'string', pattern: '^(a+)+$' });
    expect(validate(`${'a'.repeat(30)}!`)).toBe(false);
    expect(validate('a'.repeat(30))).toBe(true);
    // V8 needs seconds for the first one and doubles per character; RE2 is linear in the input.
    expect(validate(`${'a'.repeat(100_000)}!`)).toBe(false);
  });

  it('patternProperties and two different patterns in one schema each keep their own regex', () => {
    const validate = new SchemaCompiler().compile({
      properties: { a: { pattern: '^b$' }, c: { pattern: '^d$' } },
      patternProperties: { '^x\\d+$': { type: 'integer' } },
    });
    expect(validate({ a: 'b', c: 'd', x1: 1 })).toBe(true);
    expect(validate({ a: 'b', c: 'b' })).toBe(false);
    expect(validate({ x12: 'no' })).toBe(false);
  });

  it.each([
    [
      'a backreference',
      { properties: { a: { pattern: '(a)\\1' } } },
      'pattern',
      '/param_schema/properties/a/pattern',
    ],
    ['a lookahead', { items: { pattern: '^(?=a)' } }, 'pattern', '/param_schema/items/pattern'],
    [
      'a lookbehind key',
      { patternProperties: { '(?<!a)b': {} } },
      'patternProperties',
      '/param_schema/patternProperties/(?<!a)b',
    ],
    [
      'a pattern in $defs',
      { $defs: { x: { pattern: '(?!x)' } } },
      'pattern',
      '/param_schema/$defs/x/pattern',
    ],
  ])('%s is refused naming the keyword and its path', (_what, schema, keyword, path) => {
    const err = refusal(() => new SchemaCompiler().compile(schema, 'param_schema'));
    expect(err.reason).toBe('unsupported_pattern');
    expect(err.path).toBe(path);
    expect(err.details.keyword).toBe(keyword);
    expect(err.message).toContain(keyword);
    expect(err.message).toContain(path);
  });

  it('a "pattern" inside const, enum or default is data and is not refused', () => {
    const validate = new SchemaCompiler().compile({
      default: { pattern: '(a)\\1' },
      const: { pattern: '(?=x)' },
    });
    expect(validate({ pattern: '(?=x)' })).toBe(true);
  });

  it('format "regex" accepts only what RE2 can run', () => {
    const validate = new SchemaCompiler().compile({ type: 'string', format: 'regex' });
    expect(validate('^a+$')).toBe(true);
    expect(validate('(a)\\1')).toBe(false);
    expect(validate('(')).toBe(false);
  });
});

describe('drafts', () => {
  it('reads a schema without $schema as draft-07: tuple "items" checks each position', () => {
    const validate = new SchemaCompiler().compile({
      type: 'array',
      items: [{ type: 'string' }, { type: 'integer' }],
    });
    expect(validate(['a', 1])).toBe(true);
    expect(validate([1, 'a'])).toBe(false);
  });

  it('reads 2019-09 and 2020-12 by $schema, http/https and a trailing # alike', () => {
    const c = new SchemaCompiler();
    const v2020 = c.compile({
      $schema: 'https://json-schema.org/draft/2020-12/schema#',
      prefixItems: [{ type: 'string' }],
      items: false,
    });
    expect(v2020(['a'])).toBe(true);
    expect(v2020(['a', 'b'])).toBe(false);
    const v2019 = c.compile({
      $schema: 'http://json-schema.org/draft/2019-09/schema',
      dependentRequired: { a: ['b'] },
    });
    expect(v2019({ a: 1 })).toBe(false);
    expect(c.compile({ $schema: 'http://json-schema.org/draft-06/schema#', type: 'string' })('x')).toBe(true);
  });

  it('an unsupported $schema is refused naming it and the supported ones', () => {
    const err = refusal(() =>
      new SchemaCompiler().compile({ $schema: 'http://json-schema.org/draft-04/schema#' }, 'result_schema'),
    );
    expect(err.reason).toBe('unsupported_draft');
    expect(err.path).toBe('/result_schema/$schema');
    expect(err.message).toContain('draft-04');
    expect(err.message).toContain('https://json-schema.org/draft/2020-12/schema');
  });

  it("an invalid schema is refused with ajv's reason", () => {
    const err = refusal(() => new SchemaCompiler().compile({ type: 'strin' }, 'param_schema'));
    expect(err.reason).toBe('invalid');
    expect(err.message).toMatch(/^param_schema is not a valid JSON Schema \(draft-07\): \/type must be/);
  });
});

describe('limits', () => {
  const c = new SchemaCompiler({ limits: { maxBytes: 200, maxDepth: 4, maxNodes: 20 } });

  it('over maxBytes: too_large naming the field and the limit', () => {
    const err = refusal(() => c.compile({ description: 'x'.repeat(300) }, 'param_schema'));
    expect(err.reason).toBe('too_large');
    expect(err.details).toMatchObject({ limit: 200 });
    expect(err.message).toContain('param_schema');
    expect(err.message).toContain('SCHEMA_MAX_BYTES');
  });

  it('over maxDepth: too_deep', () => {
    const err = refusal(() => c.compile({ properties: { a: { properties: { b: {} } } } }, 'param_schema'));
    expect(err.reason).toBe('too_deep');
    expect(err.details).toMatchObject({ limit: 4, actual: 5 });
    expect(err.message).toContain('SCHEMA_MAX_DEPTH');
  });

  it('over maxNodes: too_many_nodes', () => {
    const err = refusal(() => c.compile({ enum: Array.from({ length: 30 }, (_, i) => i) }, 'param_schema'));
    expect(err.reason).toBe('too_many_nodes');
    expect(err.details).toMatchObject({ limit: 20, actual: 32 });
    expect(err.message).toContain('SCHEMA_MAX_NODES');
  });

  it('a 200,000-level nested array is measured without overflowing the stack', () => {
    let deep: unknown = [];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(measureSchema(deep).depth).toBe(200_001);
    const err = refusal(() => new SchemaCompiler().compile({ items: deep } as Record<string, unknown>));
    expect(err.reason).toBe('too_large');
  });

  it('bytes are those of the compact JSON text', () => {
    const schema = {
      type: 'object',
      properties: { é: { enum: [1, 'two', null, true, 'q"\\\n\u0001\u007f', 1.5e300] } },
      x: [],
    };
    expect(measureSchema(schema).bytes).toBe(Buffer.byteLength(JSON.stringify(schema)));
  });
});

describe('cache', () => {
  it('key order does not matter: equal schemas share one compile', () => {
    const c = new SchemaCompiler();
    const a = c.compile({ type: 'object', required: ['x'] });
    const b = c.compile({ required: ['x'], type: 'object' });
    expect(b).toBe(a);
    expect(c.stats().compiles).toBe(1);
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
    expect(schemaHash({ b: 1, a: 2 })).toBe(schemaHash({ a: 2, b: 1 }));
  });

  it('a cached refusal names the field it is asked under', () => {
    const c = new SchemaCompiler();
    refusal(() => c.compile({ $ref: '#/nope' }, 'param_schema'));
    const err = refusal(() => c.compile({ $ref: '#/nope' }, 'result_schema'));
    expect(err.path).toBe('/result_schema');
    expect(err.message).toMatch(/^result_schema is not a valid JSON Schema/);
    expect(c.stats().compiles).toBe(1);
  });

  it('evicting every validator of a generation retires its Ajv instances', () => {
    const c = new SchemaCompiler({ maxCached: 4, generationSize: 4, maxGenerations: 100 });
    for (let i = 0; i < 40; i++) c.compile({ type: 'string', minLength: i });
    const stats = c.stats();
    expect(stats.cached).toBe(4);
    expect(stats.compiles).toBe(40);
    // 10 generations of 4 were filled; all but the newest one or two have been dropped whole.
    expect(stats.retired).toBeGreaterThanOrEqual(8);
    expect(stats.generations).toBeLessThanOrEqual(2);
  });

  it('a schema in use keeps working, and is recompiled after its generation was dropped', () => {
    const c = new SchemaCompiler({ maxCached: 1000, generationSize: 2, maxGenerations: 2 });
    const hot = { type: 'integer', maximum: 5 };
    const first = c.compile(hot);
    for (let i = 0; i < 10; i++) c.compile({ type: 'string', maxLength: i });
    expect(c.stats().generations).toBeLessThanOrEqual(2);
    expect(c.stats().retired).toBeGreaterThanOrEqual(4);
    expect(first(3)).toBe(true);
    const again = c.compile({ ...hot });
    expect(again).not.toBe(first);
    expect(again(6)).toBe(false);
  });

  it('tryCompile returns the refusal instead of throwing', () => {
    const out = new SchemaCompiler().tryCompile({ pattern: '(a)\\1' }, 'param_schema');
    expect(out.validate).toBeUndefined();
    expect(out.error?.reason).toBe('unsupported_pattern');
  });
});
