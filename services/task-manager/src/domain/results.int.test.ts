// Result application on a real SQLite store: terminal results that carry the start (no `started` message).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResultMessage, TaskStatus } from '@taskwire/contracts';
import { makeTask, makeTemplate } from '../store/contract/fixtures.js';
import type { Store, TaskRecord } from '../store/types.js';
import type { DomainDeps } from './deps.js';
import { newId } from './ids.js';
import { applyResults } from './results.js';
import { openSqliteDeps } from '../testing/sqlite-deps.js';

const T0 = new Date('2024-03-01T12:00:00Z');
const NOW = new Date(T0.getTime() + 5_000);
let store: Store;
let deps: DomainDeps;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ store, deps, close: cleanup } = await openSqliteDeps({ clock: { now: () => NOW } }));
});
afterEach(() => cleanup());

const template = makeTemplate({
  id: newId(T0.getTime()),
  name: 'results-test',
  maxAttempts: 1,
  backoff: { initialMs: 1_000, factor: 2, maxMs: 60_000, jitter: 0 },
  timeoutMs: 10_000,
});

async function seed(status: TaskStatus): Promise<TaskRecord> {
  if (!(await store.getTemplate(template.id))) await store.insertTemplate(template);
  const task = makeTask({
    templateId: template.id,
    name: template.name,
    status,
    maxAttempts: 1,
    timeoutMs: 10_000,
    workerId: status === 'RUNNING' ? 'w1' : null,
    createdAt: T0,
    queuedAt: T0,
    startedAt: status === 'RUNNING' ? T0 : null,
    updatedAt: T0,
  });
  await store.insertTasks([task]);
  return task;
}

const result = (task: TaskRecord, over: Partial<ResultMessage>): ResultMessage => ({
  v: 1,
  type: 'succeeded',
  task_id: task.id,
  attempt: 1,
  worker_id: 'w1',
  at: T0.getTime() + 20,
  ...over,
});

const events = async (id: string) =>
  (await store.listEvents(id)).map((e) => ({ type: e.type, at: e.at.getTime() - T0.getTime() }));

describe('applyResults with started_at', () => {
  it('a terminal result carrying started_at starts and finishes a QUEUED task in one step', async () => {
    const task = await seed('QUEUED');
    const started_at = T0.getTime() + 10;
    await applyResults(deps, [result(task, { result: { ok: 1 }, started_at })]);
    const after = await store.getTask(task.id);
    expect(after).toMatchObject({ status: 'COMPLETED', workerId: 'w1', result: { ok: 1 } });
    expect(after?.startedAt?.getTime()).toBe(started_at);
    expect(after?.finishedAt?.getTime()).toBe(T0.getTime() + 20);
    expect(await events(task.id)).toEqual([
      { type: 'started', at: 10 },
      { type: 'succeeded', at: 20 },
    ]);
  });

  it('a failure carrying started_at records the start before the failure', async () => {
    const task = await seed('QUEUED');
    const failed = result(task, {
      type: 'failed',
      error: { message: 'boom', retryable: false },
      started_at: T0.getTime() + 10,
    });
    await applyResults(deps, [failed]);
    expect((await store.getTask(task.id))?.startedAt?.getTime()).toBe(T0.getTime() + 10);
    expect((await events(task.id)).map((e) => e.type)).toEqual(['started', 'failed']);
  });

  it('started_at does not move the start of a task already RUNNING', async () => {
    const task = await seed('RUNNING');
    await applyResults(deps, [result(task, { started_at: T0.getTime() + 10 })]);
    const after = await store.getTask(task.id);
    expect(after?.status).toBe('COMPLETED');
    expect(after?.startedAt?.getTime()).toBe(T0.getTime());
    expect((await events(task.id)).map((e) => e.type)).toEqual(['succeeded']);
  });

  it('a redelivered result carrying started_at changes nothing', async () => {
    const task = await seed('QUEUED');
    const msg = result(task, { started_at: T0.getTime() + 10 });
    await applyResults(deps, [msg]);
    const first = await store.getTask(task.id);
    const outcome = await applyResults(deps, [msg]);
    expect(outcome).toMatchObject({ applied: 0, ignored: 0 });
    expect(await store.getTask(task.id)).toEqual(first);
    expect((await events(task.id)).map((e) => e.type)).toEqual(['started', 'succeeded']);
  });
});
