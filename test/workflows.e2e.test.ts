// Workflows over real processes (dev broker, manager on SQLite, one worker): a diamond passing results
// through $refs, fail_fast vs continue with a step timing out, and a cron-started workflow.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, startBrokerProcess, startWorkerProcess, useProcesses, waitFor } from './support/processes.js';
import type { LooseJson } from './support/processes.js';
import type { Http } from './support/tasks.js';

describe('workflows end to end', () => {
  const env = useProcesses('workflows-e2e');
  let http: Http;

  beforeAll(async () => {
    const broker = await startBrokerProcess(path.join(env.dir, 'broker'));
    env.procs.push(broker.proc);
    const manager = await env.startManager({ brokers: broker.brokers });
    http = api(manager.url);
    env.procs.push(
      await startWorkerProcess('wf-worker', broker.brokers, manager.url, { WORKER_CONCURRENCY: '4' }),
    );
    for (const [name, executor] of [
      ['e2e-echo', 'echo'],
      ['e2e-sleep', 'sleep'],
    ]) {
      expect((await http.post('/templates', { name, executor })).status).toBe(201);
    }
  }, 120_000);

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
