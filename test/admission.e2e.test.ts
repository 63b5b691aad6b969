// Admission over real processes (dev broker, manager, one worker): a priority-9 task overtakes a paused-then-resumed backlog; per-key limits hold by start/end times.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { DEFAULT_TOPICS, dispatchTopicFor } from '@taskwire/contracts';
import type { TaskResource } from '@taskwire/contracts';
import { api, startBrokerProcess, startWorkerProcess, useProcesses, waitFor } from './support/processes.js';
import { createTask, createTemplate, listTemplateTasks } from './support/tasks.js';
import type { Http } from './support/tasks.js';

async function expectOk<T>(what: string, p: Promise<{ status: number; body: T }>): Promise<T> {
  const res = await p;
  if (res.status >= 300) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function allCompleted(http: Http, templateId: string, n: number): Promise<TaskResource[]> {
  let tasks: TaskResource[] = [];
  const statuses = () => {
    const n: Record<string, number> = {};
    for (const t of tasks) n[t.status] = (n[t.status] ?? 0) + 1;
    return JSON.stringify(n);
  };
  await waitFor(
    `${n} tasks of template ${templateId} COMPLETED`,
    async () => {
      tasks = await listTemplateTasks(http, templateId);
      return tasks.length === n && tasks.every((t) => t.status === 'COMPLETED');
    },
    60_000,
  ).catch((err: unknown) => {
    if (process.env.ADMISSION_E2E_DEBUG) writeFileSync(process.env.ADMISSION_E2E_DEBUG, debugOutput());
    throw new Error(`${String(err)} (statuses: ${statuses()})`);
  });
  return tasks;
}

let debugOutput = (): string => '';

describe('admission end to end (SQLite, dev broker, one worker)', () => {
  const env = useProcesses('admission-e2e');
  let http: Http;

  beforeAll(async () => {
    const broker = await startBrokerProcess(path.join(env.dir, 'broker'));
    env.procs.push(broker.proc);
    const manager = await env.startManager({ brokers: broker.brokers, env: { ADMISSION_SWEEP_MS: '200' } });
    http = api(manager.url);
    // A worker subscribes to its queues' topics when it starts: they must exist by then (the relay
    // would create them only with the first dispatch).
    const admin = new Kafka({ brokers: [broker.brokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({
      topics: ['backlog', 'keyed'].map((q) => ({ topic: dispatchTopicFor(DEFAULT_TOPICS.dispatch, q) })),
    });
    await admin.disconnect();
    const worker = await startWorkerProcess(`w-${randomUUID().slice(0, 6)}`, broker.brokers, manager.url, {
      WORKER_CONCURRENCY: '1',
      WORKER_QUEUES: 'backlog',
    });
    env.procs.push(worker);
    // Room for several keys at once, so that only the per-key limit keeps one key's runs apart.
    const wide = await startWorkerProcess(`k-${randomUUID().slice(0, 6)}`, broker.brokers, manager.url, {
      WORKER_CONCURRENCY: '8',
      WORKER_QUEUES: 'keyed',
      // Members of one group must subscribe to the same topics (the assignor spreads all of them).
      GROUP_ID: `keyed-${randomUUID().slice(0, 6)}`,
    });
    env.procs.push(wide);
    debugOutput = () => [worker, wide, manager.proc].map((p) => p.output()).join('\n----\n');
  }, 120_000);

  it('1 worker of concurrency 1, max_in_flight 2, 200 priority-1 tasks waiting: a priority-9 task created afterwards starts before at least 195 of them', async () => {
    const template = await createTemplate(http, { executor: 'sleep', queue: 'backlog', priority: 1 });
    await expectOk('PUT /queues/backlog', http.put('/queues/backlog', { max_in_flight: 2 }));
    await expectOk('pause', http.post('/queues/backlog/pause'));
    const batch = {
      tasks: Array.from({ length: 200 }, () => ({ task_template_id: template.id, params: { ms: 5 } })),
    };
    await expectOk('POST /tasks/batch', http.post('/tasks/batch', batch));
    const queues = await expectOk(
      'GET /queues',
      http.get<{ items: Array<Record<string, unknown>> }>('/queues'),
    );
    expect(queues.items.find((q) => q.name === 'backlog')).toMatchObject({
      waiting: 200,
      queued: 0,
      max_in_flight: 2,
      paused: true,
    });
    await expectOk('resume', http.post('/queues/backlog/resume'));
    const urgent = await createTask(http, { task_template_id: template.id, params: { ms: 5 }, priority: 9 });
    expect(['WAITING', 'QUEUED']).toContain(urgent.status);
    const tasks = await allCompleted(http, template.id, 201);
    const startOf = (t: TaskResource) => Date.parse(t.started_at!);
    const urgentStart = startOf(tasks.find((t) => t.id === urgent.id)!);
    const before = tasks.filter((t) => t.id !== urgent.id && startOf(t) < urgentStart).length;
    expect(before).toBeLessThanOrEqual(5);
  }, 180_000);

  it('concurrency_limit 1 per key: tasks of one key never overlap (start/end times), keys run side by side', async () => {
    const template = await createTemplate(http, {
      executor: 'sleep',
      queue: 'keyed',
      concurrency_key: '/customer',
      concurrency_limit: 1,
    });
    const tasks = {
      tasks: Array.from({ length: 30 }, (_, i) => ({
        task_template_id: template.id,
        params: { ms: 10, customer: `c${i % 3}` },
      })),
    };
    await expectOk('POST /tasks/batch', http.post('/tasks/batch', tasks));
    const done = await allCompleted(http, template.id, 30);
    const spans = done.map((t) => [Date.parse(t.started_at!), Date.parse(t.finished_at!)] as const);
    // Starts applied in one result batch carry the same time, so a start equal to another's counts.
    const overlapping = spans.some(([s1, e1], i) => spans.some(([s2], j) => i !== j && s2 >= s1 && s2 < e1));
    expect(overlapping, 'tasks of different keys ran at the same time').toBe(true);
    for (const key of ['c0', 'c1', 'c2']) {
      const runs = done
        .filter((t) => t.concurrency_key === key)
        .map((t) => [Date.parse(t.started_at!), Date.parse(t.finished_at!)] as const)
        .sort((a, b) => a[0] - b[0]);
      expect(runs).toHaveLength(10);
      for (let i = 1; i < runs.length; i++) expect(runs[i]![0], key).toBeGreaterThanOrEqual(runs[i - 1]![1]);
    }
  }, 180_000);
});
