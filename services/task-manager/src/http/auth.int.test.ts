// Authorization over app.request() on a real SQLite file: the scopes the routes declare against the
// app's real routes, 401/403/2xx for every token kind on every route, and the admin-only executors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelTask } from '../domain/cancel.js';
import { createTasks } from '../domain/tasks.js';
import { createTemplate } from '../domain/templates.js';
import { cancelWorkflow, createWorkflow } from '../domain/workflows.js';
import type { DomainDeps } from '../domain/deps.js';
import { createManagerMetrics } from '../metrics/index.js';
import { openSqliteDeps } from '../testing/sqlite-deps.js';
import { createEventHub } from '../events/hub.js';
import type { EventHub } from '../events/hub.js';
import { Hono } from 'hono';
import { createApp } from './app.js';
import { PRIVILEGED_EXECUTORS, requireToken } from './auth.js';
import { onError } from './errors.js';
import { ROUTE_RULES, routeRule } from './routes.js';
import type { AppEnv } from './types.js';
import { scopeAllows } from './auth-tokens.js';
import type { Scope } from './auth-tokens.js';
import { openApiDocument } from './openapi.js';

const TOKENS: Record<Scope, string> = {
  read: 'read-0123456789abcdef',
  write: 'write-0123456789abcdef',
  admin: 'admin-0123456789abcdef',
};
const UNKNOWN = 'nobody-0123456789abcdef';

let deps: DomainDeps;
let close: () => Promise<void>;
let app: ReturnType<typeof createApp>;

let hub: EventHub;

beforeAll(async () => {
  ({ deps, close } = await openSqliteDeps());
  hub = createEventHub({ store: deps.store, logger: deps.logger });
  app = createApp({
    ...deps,
    metricsRegistry: createManagerMetrics({ logger: deps.logger }),
    apiTokens: (Object.keys(TOKENS) as Scope[]).map((scope) => ({ scope, token: TOKENS[scope] })),
    events: { hub },
  });
});
afterAll(async () => {
  await hub.stop();
  await close();
});

type Who = 'none' | 'unknown' | Scope;

async function call(method: string, path: string, who: Who, body?: unknown, authorization?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization !== undefined) headers.authorization = authorization;
  else if (who === 'unknown') headers.authorization = `Bearer ${UNKNOWN}`;
  else if (who !== 'none') headers.authorization = `Bearer ${TOKENS[who]}`;
  const res = await app.request(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // An event stream does not end: its status and headers are the answer.
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, headers: res.headers, body: null };
  }
  const text = await res.text();
  const json = res.headers.get('content-type')?.startsWith('application/json');
  return { status: res.status, headers: res.headers, body: text && json ? JSON.parse(text) : text || null };
}

let n = 0;
const unique = (base: string): string => `${base}-${++n}`;
const newTemplate = async (executor = 'echo') => createTemplate(deps, { name: unique('auth'), executor });
const newWorkflow = async () =>
  (await createWorkflow(deps, { name: 'wf', steps: [{ key: 'a', templateId: (await newTemplate()).id }] }))
    .workflow;
const newTask = async () => {
  const t = await newTemplate();
  const [outcome] = await createTasks(deps, [{ templateId: t.id }]);
  if (!outcome?.ok) throw new Error('task not created');
  return outcome.value.task;
};

/** A dead letter of a valid heartbeat, indexed; its coordinates as a replay body. */
const newDeadLetter = async () => {
  const offset = ++n;
  const now = new Date();
  await deps.store.insertDeadLetters([
    {
      topic: 'task_worker_heartbeats.dlq',
      partition: 0,
      offset,
      time: now,
      indexedAt: now,
      reason: 'test',
      sourceTopic: 'task_worker_heartbeats',
      sourcePartition: 0,
      sourceOffset: offset,
      key: 'w1',
      headers: {},
      value: JSON.stringify(heartbeat()),
      valueBytes: 10,
      truncated: false,
    },
  ]);
  return { topic: 'task_worker_heartbeats.dlq', partition: 0, offset };
};
const heartbeat = () => ({
  v: 1,
  worker_id: 'w1',
  host: 'h',
  pid: 1,
  queues: ['default'],
  executors: ['echo'],
  concurrency: 1,
  running: 0,
  version: '1',
  started_at: Date.now(),
  at: Date.now(),
});

/**
 * For every route, a request that succeeds (2xx) once authorized, on fresh resources each time.
 * Keyed like ROUTE_RULES: a new route needs an example here too, or the test below fails.
 */
const EXAMPLES: Record<string, () => Promise<{ path: string; body?: unknown }>> = {
  'GET /healthz': async () => ({ path: '/healthz' }),
  'GET /readyz': async () => ({ path: '/readyz' }),
  'GET /openapi.json': async () => ({ path: '/openapi.json' }),
  'GET /workers': async () => ({ path: '/workers' }),
  'GET /metrics': async () => ({ path: '/metrics' }),
  'GET /stats/overview': async () => ({ path: '/stats/overview' }),
  'GET /ui': async () => ({ path: '/ui' }),
  'GET /ui/*': async () => ({ path: '/ui/assets/app.js' }),
  'POST /admin/scheduler/refresh': async () => ({ path: '/admin/scheduler/refresh' }),
  'GET /templates': async () => ({ path: '/templates' }),
  'GET /templates/:id': async () => ({ path: `/templates/${(await newTemplate()).id}` }),
  'POST /templates': async () => ({ path: '/templates', body: { name: unique('new'), executor: 'echo' } }),
  'PUT /templates/:id': async () => ({
    path: `/templates/${(await newTemplate()).id}`,
    body: { description: 'changed' },
  }),
  'DELETE /templates/:id': async () => ({ path: `/templates/${(await newTemplate()).id}` }),
  'GET /tasks': async () => ({ path: '/tasks' }),
  'GET /tasks/:id': async () => ({ path: `/tasks/${(await newTask()).id}` }),
  'GET /tasks/:id/events': async () => ({ path: `/tasks/${(await newTask()).id}/events` }),
  'GET /events/stream': async () => ({ path: '/events/stream' }),
  'GET /tasks/:id/events/stream': async () => ({ path: `/tasks/${(await newTask()).id}/events/stream` }),
  'POST /tasks': async () => ({ path: '/tasks', body: { task_template_id: (await newTemplate()).id } }),
  'POST /tasks/batch': async () => ({
    path: '/tasks/batch',
    body: { tasks: [{ task_template_id: (await newTemplate()).id }] },
  }),
  'POST /tasks/:id/cancel': async () => ({ path: `/tasks/${(await newTask()).id}/cancel` }),
  'POST /tasks/:id/retry': async () => {
    const task = await newTask();
    await cancelTask(deps, task.id);
    return { path: `/tasks/${task.id}/retry` };
  },
  'PUT /tasks/:id': async () => ({ path: `/tasks/${(await newTask()).id}`, body: { result: { ok: true } } }),
  'POST /workflows': async () => ({
    path: '/workflows',
    body: { name: 'wf', steps: [{ key: 'a', task_template_id: (await newTemplate()).id }] },
  }),
  'GET /workflows': async () => ({ path: '/workflows' }),
  'GET /workflows/:id': async () => ({ path: `/workflows/${(await newWorkflow()).id}` }),
  'GET /workflows/:id/events': async () => ({ path: `/workflows/${(await newWorkflow()).id}/events` }),
  'POST /workflows/:id/cancel': async () => ({ path: `/workflows/${(await newWorkflow()).id}/cancel` }),
  'POST /workflows/:id/retry': async () => {
    const wf = await newWorkflow();
    await cancelWorkflow(deps, wf.id);
    return { path: `/workflows/${wf.id}/retry` };
  },
  'GET /dlq': async () => ({ path: '/dlq' }),
  'POST /dlq/replay': async () => ({ path: '/dlq/replay', body: await newDeadLetter() }),
  'GET /queues': async () => ({ path: '/queues' }),
  'PUT /queues/:queue': async () => ({ path: '/queues/auth-q', body: { max_in_flight: 10 } }),
  'POST /queues/:queue/pause': async () => ({ path: '/queues/auth-q/pause' }),
  'POST /queues/:queue/resume': async () => ({ path: '/queues/auth-q/resume' }),
};

/** The app's own routes (hono's `app.routes`), middleware ('ALL') left out, keyed like ROUTE_RULES. */
const served = (): string[] =>
  createApp({ ...deps, apiTokens: [] })
    .routes.filter((r) => r.method !== 'ALL')
    .map((r) => `${r.method} ${r.path}`);

describe('the route table', () => {
  it('has one scope decision for every route the app serves, and names no route the app lacks', () => {
    const routes = served();
    expect(new Set(routes).size).toBe(routes.length);
    expect([...routes].sort()).toEqual(Object.keys(ROUTE_RULES).sort());
  });

  it('refuses all but admin on a route served without a declaration, so a forgotten one fails closed', async () => {
    const tokens = (Object.keys(TOKENS) as Scope[]).map((scope) => ({ scope, token: TOKENS[scope] }));
    const extra = new Hono<AppEnv>();
    extra.use(requireToken(tokens, routeRule));
    extra.get('/undeclared', (c) => c.json({ ok: true }));
    extra.onError(onError(deps.logger));
    const as = (scope: Scope) =>
      extra.request('/undeclared', { headers: { authorization: `Bearer ${TOKENS[scope]}` } });
    expect((await as('write')).status).toBe(403);
    expect((await as('admin')).status).toBe(200);
  });

  it('has an example request for every route, so the table below covers them all', () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual(served().sort());
  });

  it('leaves only the health probes and the dashboard files public and gives admin PUT /tasks/{id}, PUT /queues/{queue} and /admin/*', () => {
    const byAccess = (a: string) =>
      Object.entries(ROUTE_RULES)
        .filter(([, r]) => r.access === a)
        .map(([k]) => k)
        .sort();
    // The dashboard's HTML/JS/CSS hold no data: every API call the page makes carries the user's token.
    expect(byAccess('public')).toEqual(['GET /healthz', 'GET /readyz', 'GET /ui', 'GET /ui/*']);
    expect(byAccess('admin')).toEqual([
      'POST /admin/scheduler/refresh',
      'POST /dlq/replay',
      'PUT /queues/:queue',
      'PUT /tasks/:id',
    ]);
    for (const [key, rule] of Object.entries(ROUTE_RULES)) {
      if (key.startsWith('GET ') && rule.access !== 'public') expect(rule.access, key).toBe('read');
    }
  });
});

describe('the OpenAPI document', () => {
  type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const doc = openApiDocument() as Obj;

  it('declares the bearer scheme and, per operation, the scope of the route table and its 401/403', () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [key, rule] of Object.entries(ROUTE_RULES)) {
      const [method, pattern] = key.split(' ') as [string, string];
      const op = doc.paths[pattern.replace(/:(\w+)/g, '{$1}')][method.toLowerCase()] as Obj;
      const statuses = Object.keys(op.responses);
      if (rule.access === 'public') {
        expect(op.security, key).toEqual([]);
        expect(statuses, key).not.toContain('401');
        continue;
      }
      expect(op.security, key).toEqual([{ bearer: [rule.access] }]);
      expect(op.responses['401'], key).toEqual({ $ref: '#/components/responses/Unauthorized' });
      if (rule.access === 'read' && !rule.executorRule) expect(statuses, key).not.toContain('403');
      else expect(op.responses['403'], key).toEqual({ $ref: '#/components/responses/Forbidden' });
      if (rule.executorRule)
        for (const e of PRIVILEGED_EXECUTORS) expect(op.description, key).toContain(`\`${e}\``);
    }
  });
});

const WHO: Who[] = ['none', 'unknown', 'read', 'write', 'admin'];

describe.each(Object.keys(ROUTE_RULES))('%s', (key) => {
  const [method, pattern] = key.split(' ') as [string, string];
  const rule = ROUTE_RULES[key]!;
  it.each(WHO)('answers a caller with %s token as its scope allows', async (who) => {
    const example = await EXAMPLES[key]!();
    const res = await call(method, example.path, who, example.body);
    const where = `${who} → ${key}: ${res.status} ${JSON.stringify(res.body)}`;
    if (rule.access === 'public') {
      expect(res.status, where).toBeLessThan(300);
    } else if (who === 'none' || who === 'unknown') {
      expect(res.status, where).toBe(401);
      expect(res.body.error.code, where).toBe('unauthorized');
      expect(res.headers.get('www-authenticate'), where).toBe(
        who === 'none' ? 'Bearer realm="taskwire"' : 'Bearer realm="taskwire", error="invalid_token"',
      );
    } else if (!scopeAllows(who, rule.access)) {
      expect(res.status, where).toBe(403);
      expect(res.body.error, where).toEqual({
        code: 'forbidden',
        message: `${method} ${pattern.replace(/:(\w+)/g, '{$1}')} needs a token with scope "${rule.access}"; this token has "${who}"`,
        details: { required_scope: rule.access, token_scope: who },
      });
    } else {
      expect(res.status, where).toBeGreaterThanOrEqual(200);
      expect(res.status, where).toBeLessThan(300);
    }
  });
});

describe('the bearer token', () => {
  it('is read from "Authorization: Bearer", whatever the case of the scheme', async () => {
    expect((await call('GET', '/tasks', 'none', undefined, `bearer ${TOKENS.read}`)).status).toBe(200);
    expect((await call('GET', '/tasks', 'none', undefined, `BEARER  ${TOKENS.read}`)).status).toBe(200);
  });

  it('is not accepted in another scheme, as a prefix of a token, or with a suffix', async () => {
    for (const header of [
      `Basic ${TOKENS.admin}`,
      TOKENS.admin,
      `Bearer ${TOKENS.admin.slice(0, -1)}`,
      `Bearer ${TOKENS.admin}x`,
      `Bearer ${TOKENS.admin} extra`,
      'Bearer',
    ]) {
      const res = await call('GET', '/tasks', 'none', undefined, header);
      expect(res.status, header).toBe(401);
    }
  });

  it('is needed before a path that has no route gets its 404, so strangers cannot map the API', async () => {
    expect((await call('GET', '/nothing-here', 'none')).status).toBe(401);
    expect((await call('GET', '/nothing-here', 'read')).status).toBe(404);
  });

  it('is checked before the body: no token and an oversized body is 401, not 413', async () => {
    const res = await app.request('/tasks', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) },
      body: '{}',
    });
    expect(res.status).toBe(401);
  });

  it('is never echoed in an error', async () => {
    const res = await call('POST', '/admin/scheduler/refresh', 'write');
    expect(JSON.stringify(res.body)).not.toContain(TOKENS.write);
    const unknown = await call('GET', '/tasks', 'unknown');
    expect(JSON.stringify(unknown.body)).not.toContain(UNKNOWN);
  });
});

describe('templates with a shell or http executor', () => {
  it.each(['shell', 'http'])(
    'need admin to create with executor %s: 403 names it for write',
    async (executor) => {
      const body = { name: unique('priv'), executor };
      const denied = await call('POST', '/templates', 'write', body);
      expect(denied.status).toBe(403);
      expect(denied.body.error.code).toBe('forbidden');
      expect(denied.body.error.message).toContain(`executor "${executor}"`);
      expect(denied.body.error.details).toEqual({ required_scope: 'admin', token_scope: 'write' });
      // Same through the executor_type alias.
      const alias = await call('POST', '/templates', 'write', {
        name: unique('priv'),
        executor_type: executor,
      });
      expect(alias.status).toBe(403);
      expect((await call('POST', '/templates', 'admin', body)).status).toBe(201);
    },
  );

  it('need admin to update, whether the update sets the executor or the template already has it', async () => {
    const echo = await newTemplate('echo');
    const toShell = await call('PUT', `/templates/${echo.id}`, 'write', { executor: 'shell' });
    expect(toShell.status).toBe(403);
    expect(toShell.body.error.message).toContain('executor "shell"');

    const http = await newTemplate('http');
    const edit = await call('PUT', `/templates/${http.id}`, 'write', { description: 'x' });
    expect(edit.status).toBe(403);
    expect(edit.body.error.message).toContain('executor "http"');
    const away = await call('PUT', `/templates/${http.id}`, 'write', { executor: 'echo' });
    expect(away.status).toBe(403);

    expect((await call('PUT', `/templates/${http.id}`, 'admin', { description: 'x' })).status).toBe(200);
    expect((await call('PUT', `/templates/${echo.id}`, 'admin', { executor: 'shell' })).status).toBe(200);
  });

  it('leave other executors to write tokens, and creating tasks from a shell template to write', async () => {
    expect(
      (await call('POST', '/templates', 'write', { name: unique('ok'), executor: 'sleep' })).status,
    ).toBe(201);
    const shell = await newTemplate('shell');
    expect((await call('POST', '/tasks', 'write', { task_template_id: shell.id })).status).toBe(201);
  });

  it("are anyone's to create when authentication is off (no tokens)", async () => {
    const open = createApp(deps);
    const res = await open.request('/templates', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: unique('open'), executor: 'shell' }),
    });
    expect(res.status).toBe(201);
  });
});
