// Users' JSON Schemas over app.request() on a real SQLite file: ReDoS patterns, SCHEMA_MAX_* limits,
// RE2-refused patterns, one default draft, and no compile for a request that fails a cheaper check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchemaCompiler } from '@taskwire/json-schema';
import { openSqliteDeps } from '../testing/sqlite-deps.js';
import type { SqliteDeps } from '../testing/sqlite-deps.js';
import { createApp } from './app.js';

const LIMITS = { maxBytes: 2048, maxDepth: 6, maxNodes: 60 };

let opened: SqliteDeps;
let schemas: SchemaCompiler;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  opened = await openSqliteDeps();
  schemas = new SchemaCompiler({ limits: LIMITS });
  app = createApp({ ...opened.deps, schemas });
});
afterAll(() => opened.close());

async function call(method: string, path: string, body?: unknown, on = app) {
  const res = await on.request(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

let n = 0;
const uniqueName = () => `schema-tpl-${++n}`;

async function template(extra: Record<string, unknown>): Promise<{ id: string; name: string }> {
  const res = await call('POST', '/templates', { name: uniqueName(), executor: 'echo', ...extra });
  expect(res.status).toBe(201);
  return res.body;
}

describe('hostile patterns', () => {
  it('the ReDoS schema ^(a+)+$ with a 30-character param answers with the right verdict', async () => {
    const t = await template({
      param_schema: { type: 'object', properties: { s: { type: 'string', pattern: '^(a+)+$' } } },
    });
    const bad = await call('POST', '/tasks', { task_template_id: t.id, params: { s: `${'a'.repeat(30)}!` } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details).toEqual([expect.objectContaining({ path: '/s', keyword: 'pattern' })]);
    const good = await call('POST', '/tasks', { task_template_id: t.id, params: { s: 'a'.repeat(30) } });
    expect(good.status).toBe(201);
  });

  it.each([
    [
      'a backreference',
      { properties: { s: { pattern: '^(a)\\1$' } } },
      'pattern',
      '/param_schema/properties/s/pattern',
    ],
    [
      'a lookahead',
      { properties: { s: { pattern: '^(?=a)' } } },
      'pattern',
      '/param_schema/properties/s/pattern',
    ],
    [
      'a lookbehind key',
      { patternProperties: { '(?<=x)y': {} } },
      'patternProperties',
      '/param_schema/patternProperties/(?<=x)y',
    ],
  ])('%s is 400 naming the keyword and its path', async (_what, paramSchema, keyword, path) => {
    const res = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      param_schema: paramSchema,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
    expect(res.body.error.message).toContain(`${keyword} `);
    expect(res.body.error.message).toContain(path);
    expect(res.body.error.details[0]).toMatchObject({ path, keyword, reason: 'unsupported_pattern' });
  });
});

describe('SCHEMA_MAX_* limits', () => {
  it('a schema over SCHEMA_MAX_BYTES is 413 payload_too_large naming the field and the limit', async () => {
    const res = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      result_schema: { description: 'x'.repeat(3000) },
    });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    expect(res.body.error.message).toMatch(/^result_schema is \d+ bytes as JSON, over the limit of 2048/);
    expect(res.body.error.details[0]).toMatchObject({ path: '/result_schema', limit: 2048 });
  });

  it('a schema nested deeper than SCHEMA_MAX_DEPTH is 400 naming the field and the limit', async () => {
    const deep = { properties: { a: { properties: { b: { properties: { c: {} } } } } } };
    const res = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      param_schema: deep,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('param_schema nests 7 levels deep, over the limit of 6');
    expect(res.body.error.details[0]).toMatchObject({ path: '/param_schema', limit: 6, reason: 'too_deep' });
  });

  it('a schema with more values than SCHEMA_MAX_NODES is 400 naming the field and the limit', async () => {
    const wide = { enum: Array.from({ length: 100 }, (_, i) => i) };
    const res = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      param_schema: wide,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('over the limit of 60 (SCHEMA_MAX_NODES)');
    expect(res.body.error.details[0]).toMatchObject({ limit: 60, reason: 'too_many_nodes' });
  });

  it('an update that brings a schema over a limit is refused the same way', async () => {
    const t = await template({});
    const res = await call('PUT', `/templates/${t.id}`, { param_schema: { description: 'y'.repeat(3000) } });
    expect(res.status).toBe(413);
  });
});

describe('one default draft', () => {
  it('a schema without $schema is draft-07: tuple "items" is accepted and checked per position', async () => {
    const t = await template({
      param_schema: {
        type: 'object',
        properties: { pair: { type: 'array', items: [{ type: 'string' }, { type: 'integer' }] } },
      },
    });
    const bad = await call('POST', '/tasks', { task_template_id: t.id, params: { pair: [1, 'a'] } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.map((d: { path: string }) => d.path)).toEqual(['/pair/0', '/pair/1']);
    const good = await call('POST', '/tasks', { task_template_id: t.id, params: { pair: ['a', 1] } });
    expect(good.status).toBe(201);
  });
});

describe('cheap checks before any compile', () => {
  const fresh = { type: 'object', properties: { marker: { const: 'never compiled' } } };

  it('a duplicate name, a bad cron or a bad backoff is refused without compiling the schema', async () => {
    const taken = await template({});
    const before = schemas.stats().compiles;
    const dup = await call('POST', '/templates', { name: taken.name, executor: 'echo', param_schema: fresh });
    expect(dup.status).toBe(409);
    const cron = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      param_schema: fresh,
      cron_expression: 'not cron',
    });
    expect(cron.status).toBe(400);
    const backoff = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      result_schema: fresh,
      backoff: { initial_ms: 5000, max_ms: 10 },
    });
    expect(backoff.status).toBe(400);
    const other = await template({});
    const rename = await call('PUT', `/templates/${other.id}`, { name: taken.name, param_schema: fresh });
    expect(rename.status).toBe(409);
    expect(schemas.stats().compiles).toBe(before);
  });

  it("a task that fails a cheaper check does not compile its template's schema", async () => {
    const t = await template({ param_schema: fresh });
    // Another manager process: its compiler has never seen the template's schema.
    const other = new SchemaCompiler({ limits: LIMITS });
    const replica = createApp({ ...opened.deps, schemas: other });
    const mismatch = await call(
      'POST',
      '/tasks',
      { task_template_id: t.id, template_name: 'someone-else', params: { marker: 'never compiled' } },
      replica,
    );
    expect(mismatch.status).toBe(400);
    const backoff = await call(
      'POST',
      '/tasks',
      { task_template_id: t.id, params: {}, backoff: { initial_ms: 5000, max_ms: 10 } },
      replica,
    );
    expect(backoff.status).toBe(400);
    expect(other.stats().compiles).toBe(0);
    const ok = await call(
      'POST',
      '/tasks',
      { task_template_id: t.id, params: { marker: 'never compiled' } },
      replica,
    );
    expect(ok.status).toBe(201);
    expect(other.stats().compiles).toBe(1);
  });
});
