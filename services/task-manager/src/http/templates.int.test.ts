// /templates over app.request() on a real SQLite file: validation failures, conflicts, soft delete.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { systemClock } from '../domain/clock.js';
import type { Store } from '../store/types.js';
import { createApp } from './app.js';
import { noSignals } from '../domain/deps.js';
import { openSqliteDeps } from '../testing/sqlite-deps.js';

let store: Store;
let app: ReturnType<typeof createApp>;
let close: () => Promise<void>;
let templatesChanged = 0;

beforeAll(async () => {
  const opened = await openSqliteDeps({
    signals: { ...noSignals, templatesChanged: () => void templatesChanged++ },
  });
  ({ store, close } = opened);
  app = createApp({ ...opened.deps, bodyLimitBytes: 4096 });
});
afterAll(() => close());

async function call(method: string, path: string, body?: unknown, init: RequestInit = {}) {
  const res = await app.request(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

let n = 0;
const uniqueName = (base = 'tpl') => `${base}-${++n}`;

describe('POST /templates', () => {
  it('creates a template with the documented defaults and signals the scheduler', async () => {
    const before = templatesChanged;
    const res = await call('POST', '/templates', { name: uniqueName(), executor_type: 'echo' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      executor: 'echo',
      queue: 'default',
      enabled: true,
      max_attempts: 3,
      timeout_ms: 300_000,
      backoff: { initial_ms: 1000, factor: 2, max_ms: 300_000, jitter: 0.2 },
      missed_fire_policy: 'skip',
      overlap_policy: 'allow',
      param_schema: null,
    });
    expect(templatesChanged).toBe(before + 1);
  });

  it('accepts schemas as JSON strings and lists upcoming cron fires (seconds allowed)', async () => {
    const res = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      param_schema: JSON.stringify({ type: 'object', properties: { a: { type: 'integer' } } }),
      cron_expression: '*/10 * * * * *',
      cron_timezone: 'Europe/Paris',
    });
    expect(res.status).toBe(201);
    expect(res.body.param_schema).toEqual({ type: 'object', properties: { a: { type: 'integer' } } });
    const got = await call('GET', `/templates/${res.body.id}`);
    expect(got.body.next_fire_times).toHaveLength(5);
  });

  it('compiles 2020-12 and draft-07 schemas, with ajv-formats', async () => {
    const res = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      param_schema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: { pair: { type: 'array', prefixItems: [{ type: 'string', format: 'email' }] } },
      },
      default_params: { pair: ['a@example.com'] },
    });
    expect(res.status).toBe(201);
    const stringDefaults = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      param_schema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' },
      default_params: '{"x": 1}',
    });
    expect(stringDefaults.status).toBe(201);
    expect(stringDefaults.body.default_params).toEqual({ x: 1 });
  });

  it('a duplicate name is 409 conflict', async () => {
    const name = uniqueName();
    expect((await call('POST', '/templates', { name, executor: 'echo' })).status).toBe(201);
    const res = await call('POST', '/templates', { name, executor: 'echo' });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'conflict',
      message: `a template named "${name}" already exists`,
    });
  });

  it('a schema that does not compile is 400 with ajv’s message', async () => {
    const res = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      param_schema: { type: 'object', properties: { a: { type: 'strng' } } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
    expect(res.body.error.message).toMatch(
      /^param_schema is not a valid JSON Schema .*must be equal to one of the allowed values/,
    );
    const unsupported = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      result_schema: { $schema: 'http://example.com/my-schema' },
    });
    expect(unsupported.status).toBe(400);
    expect(unsupported.body.error.message).toMatch(/result_schema\.\$schema .* is not supported/);
  });

  it('default_params that break param_schema are 422 with paths', async () => {
    const res = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      param_schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
      default_params: { n: 'one' },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details).toEqual([
      expect.objectContaining({ path: '/n', keyword: 'type', message: 'must be integer' }),
    ]);
  });

  it('a bad cron expression or time zone is 400 naming the field', async () => {
    const cron = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      cron_expression: '61 * * * *',
    });
    expect(cron.status).toBe(400);
    expect(cron.body.error.message).toMatch(/^cron_expression "61 \* \* \* \*" is invalid/);
    const tz = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      cron_expression: '0 * * * *',
      cron_timezone: 'Mars/Olympus',
    });
    expect(tz.status).toBe(400);
    expect(tz.body.error.details[0].path).toBe('/cron_timezone');
  });

  it('wrong types and unknown fields are 400 naming each field', async () => {
    const res = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      max_attempts: 'three',
      backoff: { factor: 20 },
      colour: 'blue',
    });
    expect(res.status).toBe(400);
    const messages = res.body.error.details.map((d: { message: string }) => d.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        'max_attempts must be integer',
        'backoff.factor must be <= 10',
        'colour is not a known field',
      ]),
    );
    expect(res.body.error.message).toContain('colour is not a known field');
  });

  it('backoff.max_ms below initial_ms is 400', async () => {
    const res = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      backoff: { initial_ms: 5000, max_ms: 1000 },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].path).toBe('/backoff/max_ms');
  });

  it('without executor is 400', async () => {
    const res = await call('POST', '/templates', { name: uniqueName() });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/executor/);
  });
});

describe('PUT /templates/{id}', () => {
  it('changes only the fields given and re-validates the result', async () => {
    const created = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      description: 'keep me',
    });
    const id = created.body.id;
    const res = await call('PUT', `/templates/${id}`, { enabled: false, backoff: { max_ms: 9000 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      enabled: false,
      description: 'keep me',
      backoff: { initial_ms: 1000, max_ms: 9000 },
    });
    expect((await call('GET', `/templates/${id}`)).body.enabled).toBe(false);
    const bad = await call('PUT', `/templates/${id}`, { cron_expression: 'every tuesday' });
    expect(bad.status).toBe(400);
    const readBack = { ...res.body, description: 'changed' };
    expect((await call('PUT', `/templates/${id}`, readBack)).body.description).toBe('changed');
  });

  it('retention_days is null by default, set and cleared by PUT, and 400 naming the field when negative', async () => {
    const created = await call('POST', '/templates', { name: uniqueName(), executor: 'echo' });
    expect(created.body.retention_days).toBeNull();
    const id = created.body.id;
    expect((await call('PUT', `/templates/${id}`, { retention_days: 7 })).body.retention_days).toBe(7);
    expect((await call('GET', `/templates/${id}`)).body.retention_days).toBe(7);
    expect((await call('PUT', `/templates/${id}`, { retention_days: null })).body.retention_days).toBeNull();
    const bad = await call('POST', '/templates', {
      name: uniqueName(),
      executor: 'echo',
      retention_days: -1,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0]).toMatchObject({ path: '/retention_days' });
    expect(bad.body.error.message).toContain('retention_days');
  });

  it('an unknown id is 404, and an empty body is 400', async () => {
    expect((await call('PUT', '/templates/nope', { enabled: false })).status).toBe(404);
    const created = await call('POST', '/templates', { name: uniqueName(), executor: 'echo' });
    expect((await call('PUT', `/templates/${created.body.id}`, {})).status).toBe(400);
  });
});

describe('DELETE /templates/{id} (soft delete)', () => {
  it('hides the template, stops new tasks, keeps its tasks and history, frees its name', async () => {
    const name = uniqueName();
    const t = (await call('POST', '/templates', { name, executor: 'echo' })).body;
    const task = (await call('POST', '/tasks', { task_template_id: t.id })).body;
    expect((await call('DELETE', `/templates/${t.id}`)).status).toBe(204);

    expect((await call('GET', `/templates/${t.id}`)).status).toBe(404);
    const list = (await call('GET', '/templates')).body.items.map((x: { id: string }) => x.id);
    expect(list).not.toContain(t.id);
    expect((await call('POST', '/tasks', { task_template_id: t.id })).status).toBe(404);
    expect((await call('POST', '/tasks', { template_name: name })).status).toBe(404);
    expect((await call('GET', `/tasks/${task.id}`)).body.template_id).toBe(t.id);
    expect((await call('GET', `/tasks/${task.id}/events`)).body.items.length).toBeGreaterThan(0);
    expect((await call('DELETE', `/templates/${t.id}`)).status).toBe(404);

    const again = await call('POST', '/templates', { name, executor: 'echo' });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(t.id);
  });
});

describe('hard input', () => {
  it('a body over BODY_LIMIT_BYTES is 413, with or without Content-Length', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(5000), executor: 'echo' });
    const res = await call('POST', '/templates', big);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    const chunks = new ReadableStream({
      start(ctl) {
        for (let i = 0; i < 5; i++) ctl.enqueue(new TextEncoder().encode(' '.repeat(1000)));
        ctl.close();
      },
    });
    const streamed = await app.request('/templates', {
      method: 'POST',
      body: chunks,
      headers: { 'transfer-encoding': 'chunked' },
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  it('malformed JSON is 400 invalid_json, a non-object body 400 bad_request', async () => {
    const broken = await call('POST', '/templates', '{"name": ');
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('invalid_json');
    const array = await call('POST', '/templates', '[1]');
    expect(array.status).toBe(400);
    expect(array.body.error).toMatchObject({
      code: 'bad_request',
      message: 'request body must be a JSON object, got an array',
    });
  });

  it('unknown routes are 404 in the error shape', async () => {
    const res = await call('GET', '/nowhere');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      error: { code: 'not_found', message: 'no route for GET /nowhere', details: null },
    });
  });

  it('healthz and readyz answer', async () => {
    expect((await call('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await call('GET', '/readyz')).status).toBe(200);
  });
});

describe('failures of our own', () => {
  it('an unexpected error is a logged 500 internal_error that leaks nothing; readyz says 503', async () => {
    const logged: string[] = [];
    const broken = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'listTemplates' || prop === 'ping') {
          return () => Promise.reject(new Error('SQLITE_CORRUPT at /secret/path.db'));
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const faulty = createApp({
      store: broken,
      clock: systemClock,
      logger: pino({ level: 'error' }, { write: (line: string) => void logged.push(line) }),
      settings: { dispatchTopic: 'dispatch', controlTopic: 'control' },
      signals: { outboxWritten() {}, dueAt() {}, templatesChanged() {} },
    });
    const res = await faulty.request('/templates');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      error: { code: 'internal_error', message: 'internal error', details: null },
    });
    expect(text).not.toContain('secret');
    expect(logged.some((l) => l.includes('SQLITE_CORRUPT'))).toBe(true);
    const ready = await faulty.request('/readyz');
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { error: { code: string } }).error.code).toBe('unavailable');
  });
});
