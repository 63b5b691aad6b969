// Message sizes over real processes: a batch of big dispatches does not stall others; one too large fails alone.
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskResource } from '@taskwire/contracts';
import {
  api,
  startBrokerProcess,
  startManagerProcess,
  startWorkerProcess,
  tempDir,
} from './support/processes.js';
import { createTask, createTemplate, listTemplateTasks, waitForStatus } from './support/tasks.js';
import type { Http } from './support/tasks.js';
import { waitFor } from './support/processes.js';

/** Lower than the default so that one task's params (under MAX_PARAMS_BYTES) can exceed it. */
const MAX_MESSAGE_BYTES = 200_000;

let http: Http;
let procs: Array<{ stop(): Promise<void> }> = [];
let cleanup: () => void;

beforeAll(async () => {
  const tmp = tempDir('sizes');
  cleanup = tmp.cleanup;
  const broker = await startBrokerProcess(path.join(tmp.dir, 'broker'));
  const manager = await startManagerProcess({
    brokers: broker.brokers,
    dbType: 'sqlite',
    dsn: path.join(tmp.dir, 'taskwire.db'),
    env: { KAFKA_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) },
  });
  procs = [broker.proc, manager.proc];
  http = api(manager.url);
  procs.push(
    await startWorkerProcess(`w-${randomUUID().slice(0, 6)}`, broker.brokers, manager.url, {
      WORKER_QUEUES: 'default,other',
      WORKER_CONCURRENCY: '64',
    }),
  );
}, 90_000);

afterAll(async () => {
  for (const p of procs.reverse()) await p.stop();
  cleanup?.();
});

/** About 16 KB: 200 optional string fields with descriptions. */
function bigSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (let i = 0; i < 200; i++)
    properties[`field_${i}`] = { type: 'string', description: `field ${i} `.repeat(5) };
  return { type: 'object', properties };
}

describe('message sizes end to end', () => {
  it('1,000 tasks on a template with a 13 KB+ param_schema do not hold up another queue, and all complete', async () => {
    const heavy = await createTemplate(http, { executor: 'echo', param_schema: bigSchema() });
    const other = await createTemplate(http, { executor: 'echo', queue: 'other' });
    for (let i = 0; i < 1_000; i += 500) {
      const tasks = Array.from({ length: 500 }, (_, k) => ({
        task_template_id: heavy.id,
        params: { field_0: `t${i + k}` },
      }));
      const res = await http.post<{ results: Array<{ status: number }> }>('/tasks/batch', { tasks });
      expect(res.status).toBe(200);
    }
    const others = await Promise.all(
      Array.from({ length: 5 }, (_, n) => createTask(http, { task_template_id: other.id, params: { n } })),
    );
    for (const t of others) await waitForStatus(http, t.id, 'COMPLETED', 60_000);
    const done = await waitFor(
      'the 1,000 heavy tasks to complete',
      async () => {
        const all: TaskResource[] = await listTemplateTasks(http, heavy.id);
        return all.length === 1_000 && all.every((t) => t.status === 'COMPLETED') ? all : null;
      },
      120_000,
      1_000,
    );
    expect(done).toHaveLength(1_000);
  }, 180_000);

  it('a task whose dispatch is over KAFKA_MAX_MESSAGE_BYTES fails with message_too_large; its neighbours complete', async () => {
    const t = await createTemplate(http, { executor: 'echo' });
    const before = await createTask(http, { task_template_id: t.id, params: { n: 1 } });
    const big = await createTask(http, { task_template_id: t.id, params: { blob: 'b'.repeat(210_000) } });
    const after = await createTask(http, { task_template_id: t.id, params: { n: 2 } });
    const failed = await waitForStatus(http, big.id, ['FAILED', 'COMPLETED'], 60_000);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toMatchObject({ code: 'message_too_large', retryable: false });
    expect(failed.error?.message).toContain(
      `more than the ${MAX_MESSAGE_BYTES} bytes allowed (KAFKA_MAX_MESSAGE_BYTES)`,
    );
    await waitForStatus(http, before.id, 'COMPLETED', 60_000);
    await waitForStatus(http, after.id, 'COMPLETED', 60_000);
  }, 90_000);
});
