// /tasks over app.request() on a real SQLite file: creation rows, idempotency, group commit, batch, paging, updates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createTestSqliteFile } from '@taskwire/testkit';
import type { DispatchMessage } from '@taskwire/contracts';
import { systemClock } from '../domain/clock.js';
import { createSqliteStore } from '../store/sqlite/index.js';
import type { Store } from '../store/types.js';
import { createApp } from './app.js';

let store: Store;
let app: ReturnType<typeof createApp>;
let cleanup: () => void;
let unitsOfWork = 0;
const signals = { outbox: 0, dueAt: [] as Date[] };

beforeAll(async () => {
  const db = createTestSqliteFile();
  cleanup = db.cleanup;
  store = createSqliteStore({ file: db.file });
  await store.migrate();
  // Counts transactions, to see group commit at work.
  const counted = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'unitOfWork') {
        return (fn: Parameters<Store['unitOfWork']>[0]) => {
          unitsOfWork++;
          return target.unitOfWork(fn);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  app = createApp({
    store: counted,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    settings: { dispatchTopic: 'dispatch', controlTopic: 'control' },
    signals: {
      outboxWritten: () => void signals.outbox++,
      dueAt: (at) => void signals.dueAt.push(at),
      templatesChanged() {},
    },
  });
});
afterAll(async () => {
  await store.close();
  cleanup();
});

async function call(method: string, path: string, body?: unknown) {
  const res = await app.request(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

let n = 0;
async function template(extra: Record<string, unknown> = {}): Promise<{ id: string; name: string }> {
  const res = await call('POST', '/templates', { name: `t-${++n}`, executor: 'echo', ...extra });
  expect(res.status).toBe(201);
  return res.body;
}

const paramSchema = {
  type: 'object',
  properties: { url: { type: 'string', format: 'uri' }, count: { type: 'integer', minimum: 1 } },
  required: ['url'],
};

describe('POST /tasks', () => {
  it('a task due now is QUEUED with created+queued events and its outbox row in one go', async () => {
    const t = await template({
      param_schema: paramSchema,
      default_params: { count: 2, url: 'https://default.example' },
      queue: 'images',
    });
    const outboxBefore = signals.outbox;
    const res = await call('POST', '/tasks', {
      task_template_id: t.id,
      params: '{"url":"https://example.com"}',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      status: 'QUEUED',
      attempt: 1,
      trigger: 'api',
      queue: 'images',
      name: t.name,
      params: { count: 2, url: 'https://example.com' },
    });
    expect(signals.outbox).toBe(outboxBefore + 1);
    const events = (await call('GET', `/tasks/${res.body.id}/events`)).body.items;
    expect(events.map((e: { type: string }) => e.type)).toEqual(['created', 'queued']);
    const row = (await store.listUnsentOutbox(10_000)).find((o) => o.key === res.body.id);
    expect(row?.topic).toBe('dispatch.images');
    const msg = JSON.parse(row!.payload) as DispatchMessage;
    expect(msg).toMatchObject({
      v: 1,
      task_id: res.body.id,
      attempt: 1,
      executor: 'echo',
      params: res.body.params,
    });
  });

  it('by template_name; neither id nor name is 400; an unknown template 404', async () => {
    const t = await template();
    expect((await call('POST', '/tasks', { template_name: t.name })).status).toBe(201);
    expect((await call('POST', '/tasks', {})).status).toBe(400);
    const missing = await call('POST', '/tasks', { task_template_id: 'nope' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toBe('template "nope" does not exist');
  });

  it('two bad params are both reported: 422 with ajv paths', async () => {
    const t = await template({ param_schema: paramSchema });
    const res = await call('POST', '/tasks', {
      task_template_id: t.id,
      params: { url: 'not a uri', count: 0 },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/url', keyword: 'format' }),
        expect.objectContaining({
          path: '/count',
          keyword: 'minimum',
          params: { comparison: '>=', limit: 1 },
        }),
      ]),
    );
    expect(res.body.error.details).toHaveLength(2);
  });

  it('a future run_at stays PENDING with only a created event and wakes the due loop', async () => {
    const t = await template();
    const runAt = new Date(Date.now() + 3_600_000);
    const iso = runAt.toISOString().replace('Z', '+00:00');
    const res = await call('POST', '/tasks', { task_template_id: t.id, run_at: iso });
    expect(res.body).toMatchObject({ status: 'PENDING', run_at: runAt.toISOString(), queued_at: null });
    expect(signals.dueAt.at(-1)?.getTime()).toBe(runAt.getTime());
    const events = (await call('GET', `/tasks/${res.body.id}/events`)).body.items;
    expect(events.map((e: { type: string }) => e.type)).toEqual(['created']);
    expect((await store.listUnsentOutbox(10_000)).some((o) => o.key === res.body.id)).toBe(false);
    const past = await call('POST', '/tasks', { task_template_id: t.id, run_at: '2001-01-01T00:00:00Z' });
    expect(past.body.status).toBe('QUEUED');
    expect((await call('POST', '/tasks', { task_template_id: t.id, run_at: '2030-01-01' })).status).toBe(400);
  });

  it('the same idempotency key returns the same task with 200, also when sent concurrently', async () => {
    const t = await template();
    const first = await call('POST', '/tasks', { task_template_id: t.id, idempotency_key: 'order-1' });
    const again = await call('POST', '/tasks', { task_template_id: t.id, idempotency_key: 'order-1' });
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.body.id).toBe(first.body.id);

    const racing = await Promise.all(
      Array.from({ length: 8 }, () =>
        call('POST', '/tasks', { task_template_id: t.id, idempotency_key: 'order-2' }),
      ),
    );
    expect(new Set(racing.map((r) => r.body.id)).size).toBe(1);
    expect(racing.filter((r) => r.status === 201)).toHaveLength(1);
    const all = await store.getTasksByIdempotencyKeys(['order-2']);
    expect(all).toHaveLength(1);
  });

  it('concurrent requests share one transaction, and a bad one fails alone', async () => {
    const t = await template({ param_schema: paramSchema });
    const before = unitsOfWork;
    const bodies = Array.from({ length: 20 }, (_, i) => ({
      task_template_id: t.id,
      params: { url: i === 7 ? 42 : `https://example.com/${i}` },
    }));
    const results = await Promise.all(bodies.map((b) => call('POST', '/tasks', b)));
    expect(results.map((r) => r.status)).toEqual(bodies.map((_, i) => (i === 7 ? 422 : 201)));
    expect(unitsOfWork - before).toBeLessThanOrEqual(2);
  });

  it('wrong types and unknown fields are 400 naming the field', async () => {
    const res = await call('POST', '/tasks', {
      task_template_id: 'x',
      max_attempts: 0,
      queue: 'other',
      params: 7,
    });
    expect(res.status).toBe(400);
    const messages = res.body.error.details.map((d: { message: string }) => d.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        'max_attempts must be >= 1',
        'queue is not a known field',
        'params must be object,string,null',
      ]),
    );
  });
});

describe('size caps', () => {
  it('params larger than MAX_PARAMS_BYTES are 413 naming the field and the limit; in a batch only that item fails', async () => {
    const t = await template();
    const big = { blob: 'p'.repeat(300_000) };
    const one = await call('POST', '/tasks', { task_template_id: t.id, params: big });
    expect(one.status).toBe(413);
    expect(one.body.error).toMatchObject({
      code: 'payload_too_large',
      details: [{ path: '/params', limit: 262_144, variable: 'MAX_PARAMS_BYTES' }],
    });
    expect(one.body.error.message).toMatch(
      /^params is 300\d{3} bytes of JSON, more than the 262144 bytes allowed \(MAX_PARAMS_BYTES\)$/,
    );

    const batch = await call('POST', '/tasks/batch', {
      tasks: [
        { task_template_id: t.id, params: { n: 1 } },
        { task_template_id: t.id, params: big },
      ],
    });
    expect(batch.status).toBe(207);
    expect(batch.body.results.map((r: { status: number }) => r.status)).toEqual([201, 413]);
  });

  it('a result larger than MAX_RESULT_BYTES or an error larger than MAX_ERROR_BYTES is 413 and changes nothing', async () => {
    const t = await template();
    const id = (await call('POST', '/tasks', { task_template_id: t.id })).body.id;
    const result = await call('PUT', `/tasks/${id}`, {
      status: 'COMPLETED',
      result: { r: 'r'.repeat(300_000) },
    });
    expect(result.status).toBe(413);
    expect(result.body.error.details[0]).toMatchObject({ path: '/result', variable: 'MAX_RESULT_BYTES' });
    const error = await call('PUT', `/tasks/${id}`, {
      status: 'FAILED',
      error: { message: 'e'.repeat(70_000), retryable: false },
    });
    expect(error.status).toBe(413);
    expect(error.body.error.details[0]).toMatchObject({
      path: '/error',
      limit: 65_536,
      variable: 'MAX_ERROR_BYTES',
    });
    expect((await call('GET', `/tasks/${id}`)).body.status).toBe('QUEUED');
  });
});

describe('POST /tasks/batch', () => {
  it('creates the valid items in one transaction and reports each failure (207)', async () => {
    const t = await template({ param_schema: paramSchema });
    const before = unitsOfWork;
    const res = await call('POST', '/tasks/batch', {
      tasks: [
        { task_template_id: t.id, params: { url: 'https://a.example' }, idempotency_key: 'b-1' },
        { task_template_id: t.id, params: { url: 'nope' } },
        'not an object',
        { task_template_id: t.id, bogus: true },
        { task_template_id: 'missing' },
        { task_template_id: t.id, params: { url: 'https://a.example' }, idempotency_key: 'b-1' },
      ],
    });
    expect(res.status).toBe(207);
    expect(res.body.results.map((r: { index: number; status: number }) => [r.index, r.status])).toEqual([
      [0, 201],
      [1, 422],
      [2, 400],
      [3, 400],
      [4, 404],
      [5, 200],
    ]);
    expect(res.body.results[5].task.id).toBe(res.body.results[0].task.id);
    expect(res.body.results[3].error.details[0]).toMatchObject({ path: '/tasks/3/bogus' });
    expect(unitsOfWork - before).toBe(1);
  });

  it('more than 1000 items is 400; an all-good batch is 200', async () => {
    const t = await template();
    const tooMany = await call('POST', '/tasks/batch', {
      tasks: Array.from({ length: 1001 }, () => ({ task_template_id: t.id })),
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toContain('tasks must NOT have more than 1000 items');
    const ok = await call('POST', '/tasks/batch', {
      tasks: [{ task_template_id: t.id }, { template_name: t.name }],
    });
    expect(ok.status).toBe(200);
    expect(ok.body.results.every((r: { status: number }) => r.status === 201)).toBe(true);
  });
});

describe('GET /tasks', () => {
  it('pages newest first with a cursor that stays stable while tasks are inserted', async () => {
    const t = await template();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await call('POST', '/tasks', { task_template_id: t.id })).body.id);
    const seen: string[] = [];
    let page = (await call('GET', `/tasks?template_id=${t.id}&limit=2`)).body;
    seen.push(...page.items.map((x: { id: string }) => x.id));
    await call('POST', '/tasks', { task_template_id: t.id }); // inserted mid-walk: must not shift pages
    while (page.next_cursor) {
      page = (await call('GET', `/tasks?template_id=${t.id}&limit=2&cursor=${page.next_cursor}`)).body;
      seen.push(...page.items.map((x: { id: string }) => x.id));
    }
    expect(seen).toEqual([...ids].reverse());
  });

  it('filters by status list and creation time; bad filters are 400 naming them', async () => {
    const t = await template();
    // Pending for a month (run_at may be at most a year ahead).
    const runAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const pending = await call('POST', '/tasks', { task_template_id: t.id, run_at: runAt });
    await call('POST', '/tasks', { task_template_id: t.id });
    const res = (await call('GET', `/tasks?template_id=${t.id}&status=PENDING,COMPLETED`)).body;
    expect(res.items.map((x: { id: string }) => x.id)).toEqual([pending.body.id]);
    const from = encodeURIComponent(new Date(Date.now() + 60_000).toISOString());
    expect((await call('GET', `/tasks?template_id=${t.id}&created_from=${from}`)).body.items).toEqual([]);
    for (const [q, field] of [
      ['status=DONE', 'status'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['cursor=zzz', 'cursor'],
      ['created_to=yesterday', 'created_to'],
    ]) {
      const bad = await call('GET', `/tasks?${q}`);
      expect(bad.status).toBe(400);
      expect(bad.body.error.message.startsWith(field)).toBe(true);
    }
  });

  it('unknown tasks are 404, for the task and its events', async () => {
    expect((await call('GET', '/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV')).status).toBe(404);
    expect((await call('GET', '/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV/events')).status).toBe(404);
  });
});

describe('PUT /tasks/{id}', () => {
  it('follows the lifecycle, checks the result, writes an updated event, sets finished_at', async () => {
    const t = await template({
      result_schema: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } },
    });
    const id = (await call('POST', '/tasks', { task_template_id: t.id })).body.id;

    const back = await call('PUT', `/tasks/${id}`, { status: 'PENDING' });
    expect(back.status).toBe(409);
    expect(back.body.error).toMatchObject({
      code: 'invalid_transition',
      details: { from: 'QUEUED', to: 'PENDING' },
    });

    const running = await call('PUT', `/tasks/${id}`, { status: 'RUNNING' });
    expect(running.body).toMatchObject({ status: 'RUNNING', finished_at: null });
    expect(running.body.started_at).not.toBeNull();

    const badResult = await call('PUT', `/tasks/${id}`, {
      status: 'COMPLETED',
      result: { ok: 'yes', extra: 1 },
    });
    expect(badResult.status).toBe(422);
    expect(badResult.body.error.details[0]).toMatchObject({ path: '/ok', keyword: 'type' });

    const done = await call('PUT', `/tasks/${id}`, { status: 'COMPLETED', result: { ok: true } });
    expect(done.body).toMatchObject({ status: 'COMPLETED', result: { ok: true } });
    expect(done.body.finished_at).not.toBeNull();
    const events = (await call('GET', `/tasks/${id}/events`)).body.items;
    expect(events.at(-1)).toMatchObject({ type: 'updated', data: { from: 'RUNNING', to: 'COMPLETED' } });

    expect((await call('PUT', `/tasks/${id}`, { status: 'RUNNING' })).status).toBe(409);
    expect((await call('PUT', `/tasks/${id}`, { state: 'RUNNING' })).status).toBe(400);
    expect((await call('PUT', '/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV', { status: 'RUNNING' })).status).toBe(404);
  });

  it('cancel and retry are routed to the lifecycle', async () => {
    const t = await template();
    const id = (await call('POST', '/tasks', { task_template_id: t.id })).body.id;
    const canceled = await call('POST', `/tasks/${id}/cancel`);
    expect(canceled.body.status).toBe('CANCELED');
    const retried = await call('POST', `/tasks/${id}/retry`);
    expect(retried.body).toMatchObject({ status: 'QUEUED', attempt: 2 });
    expect((await call('POST', '/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV/cancel')).status).toBe(404);
  });
});
