// The OpenAPI document against the app on a real SQLite file: same routes, served, and real responses match it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Store } from '../store/types.js';
import { createApp } from './app.js';
import { openApiDocument } from './openapi.js';
import type { DomainDeps } from '../domain/deps.js';
import { openSqliteDeps } from '../testing/sqlite-deps.js';

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const doc = openApiDocument() as Obj;

let store: Store;
let app: ReturnType<typeof createApp>;
let close: () => Promise<void>;
let deps: DomainDeps;

beforeAll(async () => {
  ({ store, deps, close } = await openSqliteDeps());
  app = createApp(deps);
});
afterAll(() => close());

// Documented response bodies as ajv validators: components.schemas become $defs of one schema.
const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
addFormats(ajv);
ajv.addSchema({
  $id: 'doc',
  $defs: JSON.parse(JSON.stringify(doc.components.schemas).replaceAll('#/components/schemas/', '#/$defs/')),
});

/**
 * Calls the app and checks the answer against the document: the status is documented for the
 * operation (`route` is the documented path) and the body matches that response's schema.
 */
async function call(method: string, route: string, path: string, body?: unknown, target = app) {
  const res = await target.request(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json: unknown = text ? JSON.parse(text) : null;
  const where = `${method} ${path} → ${res.status} ${text.slice(0, 300)}`;
  let response = doc.paths[route]?.[method.toLowerCase()]?.responses?.[String(res.status)] as Obj | undefined;
  expect(response, `undocumented: ${where}`).toBeDefined();
  if (response!.$ref)
    response = doc.components.responses[(response!.$ref as string).split('/').pop()!] as Obj;
  const schema = response!.content?.['application/json']?.schema as Obj | undefined;
  if (schema === undefined) {
    expect(text, where).toBe('');
  } else {
    const validate = ajv.compile({
      $ref: `doc${(schema.$ref as string).replace('#/components/schemas/', '#/$defs/')}`,
    });
    expect(validate(json) ? null : validate.errors, where).toBeNull();
  }
  return { status: res.status, body: json as Obj };
}

describe('the OpenAPI document and the app', () => {
  it('documents every route the app serves, with its method, and nothing else', () => {
    const served = app.routes
      .filter((r) => r.method !== 'ALL') // middleware
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    const documented = Object.entries(doc.paths as Obj).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => k !== 'parameters')
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(new Set(served).size).toBe(served.length);
    expect([...served].sort()).toEqual([...documented].sort());
  });

  it('GET /openapi.json serves the document', async () => {
    const res = await app.request('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  it('template responses and their errors match the documented schemas and statuses', async () => {
    const t = await call('POST', '/templates', '/templates', {
      name: 'openapi-tpl',
      executor: 'echo',
      param_schema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
      result_schema: { type: 'object' },
      cron_expression: '0 0 * * * *',
    });
    expect(t.status).toBe(201);
    const id = t.body.id as string;
    expect((await call('GET', '/templates', '/templates')).status).toBe(200);
    expect(
      (await call('GET', '/templates/{id}', `/templates/${id}`)).body.next_fire_times.length,
    ).toBeGreaterThan(0);
    expect((await call('PUT', '/templates/{id}', `/templates/${id}`, { enabled: false })).status).toBe(200);
    expect(
      (await call('POST', '/templates', '/templates', { name: 'openapi-tpl', executor: 'echo' })).status,
    ).toBe(409);
    expect((await call('POST', '/templates', '/templates', { name: 'x', nope: 1 })).status).toBe(400);
    const bad = await call('POST', '/templates', '/templates', {
      name: 'openapi-bad',
      executor: 'echo',
      param_schema: { type: 'object', properties: { n: { type: 'integer' } } },
      default_params: { n: 'one' },
    });
    expect(bad.status).toBe(422);
    const other = await call('POST', '/templates', '/templates', { name: 'openapi-gone', executor: 'echo' });
    expect((await call('DELETE', '/templates/{id}', `/templates/${other.body.id}`)).status).toBe(204);
    expect((await call('GET', '/templates/{id}', `/templates/${other.body.id}`)).status).toBe(404);
  });

  it('task responses and their errors match the documented schemas and statuses', async () => {
    await call('POST', '/templates', '/templates', {
      name: 'openapi-task',
      executor: 'echo',
      param_schema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
    });
    const created = await call('POST', '/tasks', '/tasks', {
      template_name: 'openapi-task',
      params: { n: 1 },
      idempotency_key: 'openapi-1',
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(
      (
        await call('POST', '/tasks', '/tasks', {
          template_name: 'openapi-task',
          params: { n: 1 },
          idempotency_key: 'openapi-1',
        })
      ).status,
    ).toBe(200);
    expect(
      (await call('POST', '/tasks', '/tasks', { template_name: 'openapi-task', params: { n: 'x' } })).status,
    ).toBe(422);
    expect((await call('POST', '/tasks', '/tasks', { template_name: 'openapi-none' })).status).toBe(404);
    const batch = await call('POST', '/tasks/batch', '/tasks/batch', {
      tasks: [
        { template_name: 'openapi-task', params: { n: 2 } },
        { template_name: 'openapi-task', params: {} },
        7,
      ],
    });
    expect(batch.status).toBe(207);
    expect(batch.body.results.map((r: Obj) => r.status)).toEqual([201, 422, 400]);

    expect((await call('GET', '/tasks', '/tasks?status=queued&limit=1')).body.next_cursor).toEqual(
      expect.any(String),
    );
    expect((await call('GET', '/tasks/{id}', `/tasks/${id}`)).body.status).toBe('QUEUED');
    expect((await call('PUT', '/tasks/{id}', `/tasks/${id}`, { status: 'RUNNING' })).status).toBe(200);
    expect((await call('PUT', '/tasks/{id}', `/tasks/${id}`, { status: 'PENDING' })).status).toBe(409);
    const failed = await call('PUT', '/tasks/{id}', `/tasks/${id}`, {
      status: 'FAILED',
      error: { message: 'boom', code: 'E_BOOM', retryable: false },
    });
    expect(failed.body.error).toEqual({ message: 'boom', code: 'E_BOOM', retryable: false });
    expect((await call('POST', '/tasks/{id}/cancel', `/tasks/${id}/cancel`)).status).toBe(409);
    expect((await call('POST', '/tasks/{id}/retry', `/tasks/${id}/retry`)).body.status).toBe('QUEUED');
    expect((await call('POST', '/tasks/{id}/cancel', `/tasks/${id}/cancel`)).body.status).toBe('CANCELED');
    const history = await call('GET', '/tasks/{id}/events', `/tasks/${id}/events`);
    expect(history.body.attempts.length).toBeGreaterThanOrEqual(2);
    expect((await call('GET', '/tasks/{id}/events', '/tasks/nope/events')).status).toBe(404);
  });

  it('GET /tasks takes a limit up to the documented maximum and rejects one above it', async () => {
    const max = (doc.paths['/tasks'].get.parameters as Obj[]).find((p) => p.name === 'limit')!.schema.maximum;
    expect((await call('GET', '/tasks', `/tasks?limit=${max}`)).status).toBe(200);
    expect((await call('GET', '/tasks', `/tasks?limit=${max + 1}`)).status).toBe(400);
    expect((await call('GET', '/tasks', '/tasks?created_from=yesterday')).status).toBe(400);
  });

  it('system responses match the documented schemas', async () => {
    const now = new Date();
    await store.upsertWorkers([
      {
        id: 'w-openapi',
        host: 'h',
        pid: 1,
        queues: ['default'],
        executors: ['echo'],
        concurrency: 4,
        running: 0,
        version: '0.1.0',
        startedAt: now,
        lastSeen: now,
        stoppedAt: null,
      },
    ]);
    expect((await call('GET', '/workers', '/workers')).body.items).toHaveLength(1);
    expect((await call('GET', '/healthz', '/healthz')).status).toBe(200);
    expect((await call('GET', '/readyz', '/readyz')).status).toBe(200);
    expect((await call('POST', '/admin/scheduler/refresh', '/admin/scheduler/refresh')).status).toBe(202);
    expect((await call('GET', '/openapi.json', '/openapi.json')).status).toBe(200);
  });

  it('a body over the limit is a documented 413', async () => {
    const small = createApp({ ...deps, bodyLimitBytes: 1024 });
    const big = { template_name: 'x', description: 'x'.repeat(2000) };
    const res = await call('POST', '/tasks', '/tasks', big, small);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });
});
