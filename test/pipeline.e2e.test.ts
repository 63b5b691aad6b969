// The dispatch → execute → result pipeline over real processes: dev broker, manager, 3–4 workers.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestMysqlDatabase } from '@taskwire/testkit';
import type { AttemptResource, TaskResource } from '@taskwire/contracts';
import {
  api,
  startBrokerProcess,
  startManagerProcess,
  startWorkerProcess,
  tempDir,
  waitFor,
} from './support/processes.js';
import type { BrokerProc, Proc } from './support/processes.js';

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'TIMED_OUT', 'CANCELED']);
const workerEnv = { KAFKA_SESSION_TIMEOUT_MS: '6000', WORKER_CONCURRENCY: '16' };

interface Stack {
  brokers: string;
  url: string;
  manager: Proc;
  broker: BrokerProc;
  workers: Map<string, Proc>;
  http: ReturnType<typeof api>;
  restartManager(signal: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

async function startStack(dbType: 'sqlite' | 'mysql', workerCount: number): Promise<Stack> {
  const tmp = tempDir('pipeline');
  const db = dbType === 'mysql' ? await createTestMysqlDatabase() : null;
  const dsn = db ? db.dsn : path.join(tmp.dir, 'taskwire.db');
  const broker = await startBrokerProcess(path.join(tmp.dir, 'broker'));
  const managerEnv = { TIMEOUT_GRACE_MS: '5000', KAFKA_SESSION_TIMEOUT_MS: '6000' };
  let manager = await startManagerProcess({ brokers: broker.brokers, dbType, dsn, env: managerEnv });
  const workers = new Map<string, Proc>();
  const stack: Stack = {
    brokers: broker.brokers,
    url: manager.url,
    manager: manager.proc,
    broker: broker.proc,
    workers,
    http: api(manager.url),
    async restartManager(signal) {
      await stack.manager.stop(signal);
      manager = await startManagerProcess({
        brokers: broker.brokers,
        dbType,
        dsn,
        env: managerEnv,
        port: manager.port,
      });
      stack.manager = manager.proc;
    },
    async stop() {
      await Promise.all([...workers.values()].map((w) => w.stop('SIGTERM', 10_000)));
      await stack.manager.stop();
      await broker.proc.stop();
      await db?.drop();
      tmp.cleanup();
    },
  };
  for (let i = 1; i <= workerCount; i++) {
    const id = `w${i}-${randomUUID().slice(0, 6)}`;
    workers.set(id, await startWorkerProcess(id, broker.brokers, manager.url, workerEnv));
  }
  return stack;
}

async function createTemplate(stack: Stack, body: Record<string, unknown>): Promise<string> {
  const res = await stack.http.post<{ id: string }>('/templates', { name: `t-${randomUUID()}`, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

async function createBatch(stack: Stack, templateId: string, paramsList: unknown[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < paramsList.length; i += 500) {
    const tasks = paramsList.slice(i, i + 500).map((params) => ({ task_template_id: templateId, params }));
    const res = await stack.http.post<{ results: Array<{ status: number; task?: TaskResource }> }>(
      '/tasks/batch',
      {
        tasks,
      },
    );
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBeLessThan(300);
    for (const r of res.body.results) {
      expect(r.status).toBe(201);
      ids.push(r.task!.id);
    }
  }
  return ids;
}

/** Every task of the template, through cursor pagination. */
async function listTasks(stack: Stack, templateId: string): Promise<TaskResource[]> {
  const all: TaskResource[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `/tasks?template_id=${templateId}&limit=500${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await stack.http.get<{ items: TaskResource[]; next_cursor: string | null }>(q);
    expect(res.status).toBe(200);
    all.push(...res.body.items);
    cursor = res.body.next_cursor;
  } while (cursor);
  return all;
}

async function waitAllTerminal(stack: Stack, templateId: string, count: number, timeoutMs = 90_000) {
  return waitFor(
    `${count} tasks of ${templateId} to finish`,
    async () => {
      const tasks = await listTasks(stack, templateId);
      return tasks.length === count && tasks.every((t) => TERMINAL.has(t.status)) ? tasks : null;
    },
    timeoutMs,
    500,
  );
}

function pipelineSuite(dbType: 'sqlite' | 'mysql') {
  describe(`pipeline on ${dbType}`, () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack(dbType, 3);
    }, 120_000);
    afterAll(async () => {
      await stack?.stop();
    }, 60_000);

    it('runs 1,000 tasks to COMPLETED with their results, spread over all 3 workers', async () => {
      const templateId = await createTemplate(stack, { executor: 'echo' });
      const params = Array.from({ length: 1000 }, (_, i) => ({ n: i }));
      const ids = await createBatch(stack, templateId, params);
      const tasks = await waitAllTerminal(stack, templateId, 1000);
      expect(tasks.filter((t) => t.status === 'COMPLETED')).toHaveLength(1000);
      const byId = new Map(tasks.map((t) => [t.id, t]));
      ids.forEach((id, i) => expect(byId.get(id)?.result).toEqual({ n: i }));
      const history = await stack.http.get<{ items: Array<{ type: string }>; attempts: AttemptResource[] }>(
        `/tasks/${ids[0]}/events`,
      );
      expect(history.body.items.map((e) => e.type)).toEqual(['created', 'queued', 'started', 'succeeded']);
      expect(history.body.attempts).toEqual([
        expect.objectContaining({
          attempt: 1,
          outcome: 'succeeded',
          worker_id: byId.get(ids[0]!)?.worker_id,
          error: null,
        }),
      ]);
      expect(history.body.attempts[0]?.duration_ms).toBeGreaterThanOrEqual(0);
      const usedWorkers = new Set(tasks.map((t) => t.worker_id));
      expect([...usedWorkers].sort()).toEqual([...stack.workers.keys()].sort());
    });

    if (dbType === 'mysql') return;

    it('makes a task whose result violates result_schema FAILED with the reason', async () => {
      const templateId = await createTemplate(stack, {
        executor: 'echo',
        result_schema: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } },
      });
      const [id] = await createBatch(stack, templateId, [{ ok: 'yes' }]);
      const [task] = await waitAllTerminal(stack, templateId, 1, 30_000);
      expect(task?.id).toBe(id);
      expect(task?.status).toBe('FAILED');
      expect(task?.error?.message).toMatch(/result_schema/);
      expect(task?.error?.message).toContain('/ok');
    });

    it('runs a task whose param_schema is a draft-07 tuple (no $schema) to COMPLETED: worker and manager read one draft', async () => {
      const templateId = await createTemplate(stack, {
        executor: 'echo',
        param_schema: {
          type: 'object',
          properties: { pair: { type: 'array', items: [{ type: 'string' }, { type: 'integer' }] } },
        },
      });
      const [id] = await createBatch(stack, templateId, [{ pair: ['a', 1] }]);
      const [task] = await waitAllTerminal(stack, templateId, 1, 30_000);
      expect(task?.id).toBe(id);
      expect(task?.error).toBeNull();
      expect(task?.status).toBe('COMPLETED');
      expect(task?.result).toEqual({ pair: ['a', 1] });
    });

    it('sends a poison message on each topic to its DLQ and keeps processing', async () => {
      const kafka = new Kafka({ brokers: [stack.brokers], logLevel: logLevel.NOTHING });
      const producer = kafka.producer({ allowAutoTopicCreation: true });
      await producer.connect();
      const topics = ['task_execution_requests', 'task_results', 'task_worker_heartbeats'];
      const marker = randomUUID();
      for (const topic of topics) {
        await producer.send({ topic, messages: [{ key: marker, value: `{"poison": "${marker}"` }] });
      }
      await producer.disconnect();
      const consumer = kafka.consumer({ groupId: `dlq-check-${randomUUID()}` });
      await consumer.connect();
      await consumer.subscribe({ topics: topics.map((t) => `${t}.dlq`), fromBeginning: true });
      const seen = new Map<string, string>();
      await consumer.run({
        eachMessage: async ({ topic, message }) => {
          if (message.key?.toString() === marker)
            seen.set(topic, message.headers?.['x-dlq-reason']?.toString() ?? '');
        },
      });
      try {
        await waitFor('poison messages in every DLQ', () => seen.size === topics.length, 30_000);
        for (const reason of seen.values()) expect(reason).toMatch(/not JSON/);
      } finally {
        await consumer.disconnect();
      }
      const templateId = await createTemplate(stack, { executor: 'echo' });
      await createBatch(stack, templateId, [{ after: 'poison' }]);
      const [task] = await waitAllTerminal(stack, templateId, 1, 30_000);
      expect(task?.status).toBe('COMPLETED');
    });

    it('rebalances onto a 4th worker added under load, which then takes work', async () => {
      const templateId = await createTemplate(stack, { executor: 'sleep', timeout_ms: 60_000 });
      const params = (n: number) => Array.from({ length: n }, () => ({ ms: 50 }));
      let created = (await createBatch(stack, templateId, params(300))).length;
      const id = `w4-${randomUUID().slice(0, 6)}`;
      stack.workers.set(id, await startWorkerProcess(id, stack.brokers, stack.url, workerEnv));
      // Keep the load coming until the newcomer has finished tasks of its own: how long the join
      // and rebalance take depends on the machine, so the test waits on the outcome, not a guess.
      await waitFor(
        `worker ${id} to complete tasks after joining`,
        async () => {
          const tasks = await listTasks(stack, templateId);
          if (tasks.some((t) => t.worker_id === id && t.status === 'COMPLETED')) return true;
          if (tasks.filter((t) => !TERMINAL.has(t.status)).length < 300) {
            created += (await createBatch(stack, templateId, params(200))).length;
          }
          return false;
        },
        90_000,
        500,
      );
      const tasks = await waitAllTerminal(stack, templateId, created, 120_000);
      expect(tasks.filter((t) => t.status !== 'COMPLETED')).toEqual([]);
      expect(tasks.filter((t) => t.worker_id === id).length).toBeGreaterThan(0);
    });

    it('loses no task when a worker is killed with SIGKILL mid-load', async () => {
      const templateId = await createTemplate(stack, { executor: 'sleep', timeout_ms: 60_000 });
      await createBatch(
        stack,
        templateId,
        Array.from({ length: 400 }, () => ({ ms: 50 })),
      );
      const [victimId, victim] = [...stack.workers][0]!;
      await waitFor('some tasks to complete', async () => {
        const tasks = await listTasks(stack, templateId);
        return tasks.filter((t) => t.status === 'COMPLETED').length >= 50;
      });
      victim.child.kill('SIGKILL');
      await victim.exited;
      stack.workers.delete(victimId);
      const tasks = await waitAllTerminal(stack, templateId, 400, 120_000);
      expect(tasks.filter((t) => t.status !== 'COMPLETED')).toEqual([]);
    });

    it('loses no task when the manager is killed and restarted mid-load', async () => {
      const templateId = await createTemplate(stack, { executor: 'sleep', timeout_ms: 60_000 });
      await createBatch(
        stack,
        templateId,
        Array.from({ length: 400 }, () => ({ ms: 30 })),
      );
      await waitFor('some tasks to complete', async () => {
        const tasks = await listTasks(stack, templateId);
        return tasks.filter((t) => t.status === 'COMPLETED').length >= 20;
      });
      await stack.restartManager('SIGKILL');
      const tasks = await waitAllTerminal(stack, templateId, 400, 120_000);
      expect(tasks.filter((t) => t.status !== 'COMPLETED')).toEqual([]);
    });
  });
}

pipelineSuite('sqlite');
pipelineSuite('mysql');
