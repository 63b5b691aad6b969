// /workflows over app.request() on a real SQLite store: create, read, list, step fields on /tasks, workflow templates, errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteDeps } from '../testing/sqlite-deps.js';
import type { SqliteDeps } from '../testing/sqlite-deps.js';
import { createApp } from './app.js';

let fixture: SqliteDeps;
let app: ReturnType<typeof createApp>;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await app.request(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

beforeAll(async () => {
  fixture = await openSqliteDeps();
  app = createApp(fixture.deps);
  for (const name of ['http-a', 'http-b']) {
    expect((await call('POST', '/templates', { name, executor: 'echo' })).status).toBe(201);
  }
});
afterAll(() => fixture.close());

const diamond = {
  name: 'http-diamond',
  on_failure: 'continue',
  steps: [
    { key: 'a', template_name: 'http-a', params: { n: 1 } },
    { key: 'b', template_name: 'http-b', depends_on: ['a'], params: { x: { $ref: '#/steps/a/result/x' } } },
    { key: 'c', template_name: 'http-b', depends_on: ['a'], max_attempts: 1, timeout_ms: 5_000, priority: 9 },
    { key: 'd', template_name: 'http-a', depends_on: ['b', 'c'] },
  ],
};

describe('/workflows', () => {
  it('POST creates it RUNNING with a task per step; GET shows the steps; the step tasks show their workflow', async () => {
    const created = await call('POST', '/workflows', diamond);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'http-diamond',
      status: 'RUNNING',
      on_failure: 'continue',
      workflow_template_id: null,
      steps_total: 4,
      steps_finished: 0,
      finished_at: null,
    });
    expect(created.body.steps.map((s: Json) => [s.key, s.status, s.depends_on])).toEqual([
      ['a', 'QUEUED', []],
      ['b', 'PENDING', ['a']],
      ['c', 'PENDING', ['a']],
      ['d', 'PENDING', ['b', 'c']],
    ]);
    const id = created.body.id as string;
    const read = await call('GET', `/workflows/${id}`);
    expect(read.status).toBe(200);
    expect(read.body.steps).toEqual(created.body.steps);
    const c = await call('GET', `/tasks/${created.body.steps[2].task_id}`);
    expect(c.body).toMatchObject({ workflow_id: id, step_key: 'c', max_attempts: 1, timeout_ms: 5_000 });
    const listed = await call('GET', '/tasks?limit=500');
    expect(listed.body.items.find((t: Json) => t.id === c.body.id)).toMatchObject({
      workflow_id: id,
      step_key: 'c',
    });
    const retry = await call('POST', `/tasks/${c.body.id}/retry`);
    expect(retry.status).toBe(409);
    // Ended by a trusted caller, the step is followed up like a worker's result; it cannot be revived by PUT.
    const a = created.body.steps[0].task_id as string;
    expect(
      (await call('PUT', `/tasks/${a}`, { status: 'FAILED', error: { message: 'by hand' } })).status,
    ).toBe(200);
    expect((await call('PUT', `/tasks/${a}`, { status: 'RETRYING' })).status).toBe(409);
    const afterFail = await call('GET', `/workflows/${id}`);
    expect(afterFail.body.steps.map((s: Json) => s.status)).toEqual([
      'FAILED',
      'CANCELED',
      'CANCELED',
      'CANCELED',
    ]);
    expect(afterFail.body.status).toBe('FAILED');
    const stepRetry = await call('POST', `/tasks/${c.body.id}/retry`);
    expect(stepRetry.status).toBe(409);
    expect(stepRetry.body.error.message).toContain(`retry the workflow (POST /workflows/${id}/retry)`);
    const events = await call('GET', `/workflows/${id}/events`);
    expect(events.body.items.map((e: Json) => e.type)).toEqual(['workflow_started', 'workflow_failed']);
  });

  it('GET /workflows pages newest first and filters by status and name', async () => {
    const second = await call('POST', '/workflows', { ...diamond, name: 'http-other' });
    await call('POST', `/workflows/${second.body.id}/cancel`);
    const page = await call('GET', '/workflows?limit=1');
    expect(page.body.items.map((w: Json) => w.id)).toEqual([second.body.id]);
    expect(page.body.next_cursor).toEqual(expect.any(String));
    const next = await call('GET', `/workflows?limit=1&cursor=${page.body.next_cursor}`);
    expect(next.body.items[0].name).toBe('http-diamond');
    expect((await call('GET', '/workflows?status=canceled')).body.items.map((w: Json) => w.id)).toEqual([
      second.body.id,
    ]);
    expect((await call('GET', '/workflows?name=http-diamond')).body.items.map((w: Json) => w.name)).toEqual([
      'http-diamond',
    ]);
    expect((await call('GET', '/workflows?status=DONE')).status).toBe(400);
  });

  it('rejects bad workflows with 400/422 naming the step, and answers 404/409 as the lifecycle says', async () => {
    const cycle = await call('POST', '/workflows', {
      name: 'bad',
      steps: [
        { key: 'x', template_name: 'http-a', depends_on: ['y'] },
        { key: 'y', template_name: 'http-a', depends_on: ['x'] },
      ],
    });
    expect(cycle.status).toBe(400);
    expect(cycle.body.error.message).toContain('steps form a cycle');
    expect(cycle.body.error.details[0]).toMatchObject({ path: '/steps/0/depends_on', step: 'x' });
    const noSteps = await call('POST', '/workflows', { name: 'bad', steps: [] });
    expect(noSteps.status).toBe(400);
    const badKey = await call('POST', '/workflows', {
      name: 'bad',
      steps: [{ key: 'a b', template_name: 'http-a' }],
    });
    expect(badKey.status).toBe(400);
    expect((await call('GET', '/workflows/01ARZ3NDEKTSV4RRFFQ69G5FAV')).status).toBe(404);
    expect((await call('GET', '/workflows/nope')).status).toBe(404);
    const wf = await call('POST', '/workflows', {
      name: 'ok',
      steps: [{ key: 'a', template_name: 'http-a' }],
    });
    expect((await call('POST', `/workflows/${wf.body.id}/retry`)).status).toBe(409);
  });

  it('a workflow template starts workflows through POST /workflows and refuses POST /tasks', async () => {
    const tpl = await call('POST', '/templates', {
      name: 'http-flow',
      workflow: {
        steps: [
          { key: 'one', template_name: 'http-a' },
          { key: 'two', template_name: 'http-b', depends_on: ['one'] },
        ],
        on_failure: 'continue',
      },
    });
    expect(tpl.status).toBe(201);
    expect(tpl.body).toMatchObject({ executor: 'workflow', workflow: { on_failure: 'continue' } });
    const task = await call('POST', '/tasks', { template_name: 'http-flow' });
    expect(task.status).toBe(400);
    expect(task.body.error.message).toContain('is a workflow template: start it with POST /workflows');
    const started = await call('POST', '/workflows', { workflow_template_id: tpl.body.id, name: 'nightly' });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({
      name: 'nightly',
      workflow_template_id: tpl.body.id,
      on_failure: 'continue',
      steps_total: 2,
    });
    const both = await call('POST', '/workflows', {
      workflow_template_id: tpl.body.id,
      steps: diamond.steps,
    });
    expect(both.status).toBe(400);
    const notFlow = await call('GET', '/templates');
    const plain = notFlow.body.items.find((t: Json) => t.name === 'http-a');
    expect((await call('POST', '/workflows', { workflow_template_id: plain.id })).status).toBe(400);
    const cyclic = await call('POST', '/templates', {
      name: 'http-cyclic',
      workflow: { steps: [{ key: 'a', template_name: 'http-a', depends_on: ['a'] }] },
    });
    expect(cyclic.status).toBe(400);
    expect(cyclic.body.error.message).toContain('step "a" depends on itself');
    const both2 = await call('POST', '/templates', {
      name: 'http-both',
      executor: 'echo',
      workflow: { steps: [{ key: 'a', template_name: 'http-a' }] },
    });
    expect(both2.status).toBe(400);
  });
});
