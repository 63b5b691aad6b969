// Workflows over real processes (dev broker, manager on SQLite, one worker): a diamond passing results
// through $refs, fail_fast vs continue with a step timing out, retry of a failed workflow, a cron-started one.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startBrokerProcess, startWorkerProcess, useProcesses, waitFor } from './support/processes.js';
import type { LooseJson } from './support/processes.js';
import type { Http } from './support/tasks.js';

describe('workflows end to end', () => {
  const env = useProcesses('workflows-e2e');
  let http: Http;
  // An HTTP endpoint that refuses its first request (400: not retried) and answers {"n": 42} after.
  let hits = 0;
  const flaky = createServer((_req, res) => {
    hits++;
    res.writeHead(hits === 1 ? 400 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(hits === 1 ? { error: 'not yet' } : { n: 42 }));
  });
  let flakyUrl = '';

  beforeAll(async () => {
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    flakyUrl = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}/flaky`;
    const broker = await startBrokerProcess(path.join(env.dir, 'broker'));
    env.procs.push(broker.proc);
    const manager = await env.startManager({ brokers: broker.brokers });
    http = api(manager.url);
    env.procs.push(
      await startWorkerProcess('wf-worker', broker.brokers, manager.url, {
        WORKER_CONCURRENCY: '4',
        HTTP_EXECUTOR_ALLOW_HOSTS: '127.0.0.1',
      }),
    );
    for (const [name, executor] of [
      ['e2e-echo', 'echo'],
      ['e2e-sleep', 'sleep'],
      ['e2e-http', 'http'],
    ]) {
      expect((await http.post('/templates', { name, executor })).status).toBe(201);
    }
  }, 120_000);
  afterAll(() => new Promise<void>((resolve) => flaky.close(() => resolve())));

  const finished = (id: string): Promise<LooseJson> =>
    waitFor(
      `workflow ${id} to finish`,
      async () => {
        const wf = (await http.get(`/workflows/${id}`)).body;
        return wf.status === 'RUNNING' ? null : wf;
      },
      60_000,
    );

  it('a diamond runs on a real worker, each step getting its ancestors’ results through $refs', async () => {
    const created = await http.post('/workflows', {
      name: 'e2e-diamond',
      steps: [
        { key: 'a', template_name: 'e2e-echo', params: { word: 'hello', n: 2 } },
        {
          key: 'b',
          template_name: 'e2e-echo',
          depends_on: ['a'],
          params: { w: { $ref: '#/steps/a/result/word' } },
        },
        {
          key: 'c',
          template_name: 'e2e-echo',
          depends_on: ['a'],
          params: { n: { $ref: '#/steps/a/result/n' } },
        },
        {
          key: 'd',
          template_name: 'e2e-echo',
          depends_on: ['b', 'c'],
          params: { both: [{ $ref: '#/steps/b/result/w' }, { $ref: '#/steps/c/result/n' }] },
        },
      ],
    });
    expect(created.status).toBe(201);
    const wf = await finished(created.body.id);
    expect(wf.status).toBe('COMPLETED');
    const d = (await http.get(`/tasks/${wf.steps[3].task_id}`)).body;
    expect(d).toMatchObject({ status: 'COMPLETED', result: { both: ['hello', 2] }, step_key: 'd' });
    // Order: every step started after the steps it depends on finished.
    const at = (key: string, field: 'started_at' | 'finished_at') =>
      Date.parse(wf.steps.find((s: LooseJson) => s.key === key)[field]);
    expect(at('b', 'started_at')).toBeGreaterThanOrEqual(at('a', 'finished_at'));
    expect(at('d', 'started_at')).toBeGreaterThanOrEqual(
      Math.max(at('b', 'finished_at'), at('c', 'finished_at')),
    );
  });

  // a times out for good while c sleeps; b depends on a, e on c.
  const branches = (on_failure: string) => ({
    name: `e2e-${on_failure}`,
    on_failure,
    steps: [
      { key: 'a', template_name: 'e2e-sleep', params: { ms: 60_000 }, timeout_ms: 300, max_attempts: 1 },
      { key: 'b', template_name: 'e2e-echo', depends_on: ['a'] },
      { key: 'c', template_name: 'e2e-sleep', params: { ms: 3_000 }, timeout_ms: 30_000 },
      { key: 'e', template_name: 'e2e-echo', depends_on: ['c'], params: { after: 'c' } },
    ],
  });
  const statuses = (wf: LooseJson) => Object.fromEntries(wf.steps.map((s: LooseJson) => [s.key, s.status]));

  it('fail_fast: the timed-out step cancels its dependants and stops the running sibling on its worker', async () => {
    const created = await http.post('/workflows', branches('fail_fast'));
    const wf = await finished(created.body.id);
    expect(wf.status).toBe('FAILED');
    expect(statuses(wf)).toEqual({ a: 'TIMED_OUT', b: 'CANCELED', c: 'CANCELED', e: 'CANCELED' });
    const c = (await http.get(`/tasks/${wf.steps[2].task_id}/events`)).body;
    expect(c.items.map((e: LooseJson) => e.type)).toEqual(
      expect.arrayContaining(['started', 'cancel_requested', 'canceled']),
    );
  });

  it('continue: the independent branch completes, the workflow still ends FAILED', async () => {
    const created = await http.post('/workflows', branches('continue'));
    const wf = await finished(created.body.id);
    expect(wf.status).toBe('FAILED');
    expect(statuses(wf)).toEqual({ a: 'TIMED_OUT', b: 'CANCELED', c: 'COMPLETED', e: 'COMPLETED' });
  });

  it('retry of a failed workflow re-runs the failed step and its dependants, keeping the completed one', async () => {
    const created = await http.post('/workflows', {
      name: 'e2e-retry',
      on_failure: 'continue',
      steps: [
        { key: 'a', template_name: 'e2e-echo', params: { v: 1 } },
        {
          key: 'b',
          template_name: 'e2e-http',
          depends_on: ['a'],
          max_attempts: 1,
          params: { method: 'GET', url: flakyUrl },
        },
        {
          key: 'c',
          template_name: 'e2e-echo',
          depends_on: ['b'],
          params: { n: { $ref: '#/steps/b/result/body/n' } },
        },
      ],
    });
    expect(created.status).toBe(201);
    const failed = await finished(created.body.id);
    expect(failed.status).toBe('FAILED');
    expect(statuses(failed)).toEqual({ a: 'COMPLETED', b: 'FAILED', c: 'CANCELED' });
    const retried = await http.post(`/workflows/${created.body.id}/retry`);
    expect(retried.status).toBe(200);
    const done = await finished(created.body.id);
    expect(done.status).toBe('COMPLETED');
    expect(done.steps.map((s: LooseJson) => [s.key, s.attempt])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 2],
    ]);
    expect((await http.get(`/tasks/${done.steps[2].task_id}`)).body.result).toEqual({ n: 42 });
    expect(hits).toBe(2);
  });

  it('a cron trigger on a workflow template starts whole workflows that run to the end', async () => {
    const tpl = await http.post('/templates', {
      name: 'e2e-cron-flow',
      cron_expression: '*/1 * * * * *',
      workflow: {
        steps: [
          { key: 'one', template_name: 'e2e-echo', params: { v: 1 } },
          {
            key: 'two',
            template_name: 'e2e-echo',
            depends_on: ['one'],
            params: { v: { $ref: '#/steps/one/result/v' } },
          },
        ],
      },
    });
    expect(tpl.status).toBe(201);
    const done = await waitFor(
      'a cron-started workflow to complete',
      async () => {
        const page = (await http.get('/workflows?name=e2e-cron-flow&status=COMPLETED')).body;
        return page.items[0] ?? null;
      },
      30_000,
    );
    expect(done).toMatchObject({ workflow_template_id: tpl.body.id, steps_completed: 2 });
    expect((await http.put(`/templates/${tpl.body.id}`, { enabled: false })).status).toBe(200);
  });
});
