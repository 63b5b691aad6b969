// Result application on a real SQLite store: starts carried by terminal results, manager-clock times, size caps.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResultMessage, TaskStatus } from '@taskwire/contracts';
import type { Store, TaskRecord } from '../store/types.js';
import type { DomainDeps } from './deps.js';
import { applyResults } from './results.js';
import { timeOutOverdueTasks } from './timeouts.js';
import { openSqliteDeps } from '../testing/sqlite-deps.js';
import { resultFor, seedTask, templateAt } from '../testing/seed.js';

const T0 = new Date('2024-03-01T12:00:00Z');
const NOW = new Date(T0.getTime() + 5_000);
let store: Store;
let deps: DomainDeps;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ store, deps, close: cleanup } = await openSqliteDeps({ clock: { now: () => NOW } }));
});
afterEach(() => cleanup());

const template = templateAt(T0, { name: 'results-test', maxAttempts: 1 });

function seed(status: TaskStatus): Promise<TaskRecord> {
  const workerId = status === 'RUNNING' ? 'w1' : null;
  return seedTask(store, template, T0, { status, maxAttempts: 1, timeoutMs: 10_000, workerId });
}

const result = (task: TaskRecord, over: Partial<ResultMessage>): ResultMessage =>
  resultFor(task, T0.getTime() + 20, over);

const events = async (id: string) =>
  (await store.listEvents(id)).map((e) => ({ type: e.type, at: e.at.getTime() - T0.getTime() }));

describe('applyResults with started_at', () => {
  it('a terminal result carrying started_at starts and finishes a QUEUED task in one step', async () => {
    const task = await seed('QUEUED');
    const started_at = T0.getTime() + 10;
    await applyResults(deps, [result(task, { result: { ok: 1 }, started_at })]);
    const after = await store.getTask(task.id);
    expect(after).toMatchObject({ status: 'COMPLETED', workerId: 'w1', result: { ok: 1 } });
    // Manager clock (NOW), with the worker-measured 10 ms between start and end.
    expect(after?.finishedAt?.getTime()).toBe(NOW.getTime());
    expect(after?.startedAt?.getTime()).toBe(NOW.getTime() - 10);
    expect(await events(task.id)).toEqual([
      { type: 'started', at: 4_990 },
      { type: 'succeeded', at: 5_000 },
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
    expect((await store.getTask(task.id))?.startedAt?.getTime()).toBe(NOW.getTime() - 10);
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

describe('applyResults clocks and caps', () => {
  it('a worker whose clock is an hour behind does not get its live task timed out', async () => {
    const task = await seed('QUEUED');
    const workerAt = NOW.getTime() - 3_600_000;
    await applyResults(deps, [result(task, { type: 'started', at: workerAt })]);
    const after = await store.getTask(task.id);
    expect(after).toMatchObject({ status: 'RUNNING', startedAt: NOW });
    const [started] = (await store.listEvents(task.id)).filter((e) => e.type === 'started');
    expect(started).toMatchObject({ at: NOW, data: { worker_at: workerAt } });

    expect((await timeOutOverdueTasks(deps, { graceMs: 30_000 })).timedOut).toBe(0);
    expect((await store.getTask(task.id))?.status).toBe('RUNNING');

    // Past its own timeout (10 s) and the grace by the manager's clock, it is timed out after all.
    const later = { ...deps, clock: { now: () => new Date(NOW.getTime() + 40_001) } };
    expect((await timeOutOverdueTasks(later, { graceMs: 30_000 })).timedOut).toBe(1);
  });

  it('a started and a succeeded applied together keep the worker-measured duration', async () => {
    const task = await seed('QUEUED');
    await applyResults(deps, [
      result(task, { type: 'started', at: T0.getTime() + 100 }),
      result(task, { at: T0.getTime() + 350 }),
    ]);
    const after = await store.getTask(task.id);
    expect(after?.finishedAt?.getTime()).toBe(NOW.getTime());
    expect(after?.startedAt?.getTime()).toBe(NOW.getTime() - 250);
    const succeeded = (await store.listEvents(task.id)).find((e) => e.type === 'succeeded');
    expect(succeeded?.data).toMatchObject({ duration_ms: 250 });
  });

  it('a result larger than MAX_RESULT_BYTES fails the task with result_too_large instead of being stored', async () => {
    const task = await seed('RUNNING');
    const small = {
      ...deps,
      settings: { ...deps.settings, limits: { paramsBytes: 1024, resultBytes: 1024, errorBytes: 1024 } },
    };
    await applyResults(small, [result(task, { result: { blob: 'x'.repeat(2_000) } })]);
    const after = await store.getTask(task.id);
    expect(after).toMatchObject({
      status: 'FAILED',
      result: null,
      error: { code: 'result_too_large', retryable: false },
    });
    expect(after?.error?.message).toMatch(/more than the 1024 bytes allowed \(MAX_RESULT_BYTES\)/);
  });
});

describe('applyResults batching', () => {
  it('a task another replica moved between the batch read and its write keeps that change; the rest applies', async () => {
    const [moved, kept] = [await seed('RUNNING'), await seed('RUNNING')];
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    // The other replica's change lands inside this unit, after the read and before the batch update.
    const racing: Store = {
      ...store,
      unitOfWork: (fn) =>
        store.unitOfWork((tx) =>
          fn({
            ...tx,
            updateTasks: async (updates) => {
              await tx.updateTask(moved.id, { status: 'CANCELED' });
              return tx.updateTasks(updates);
            },
          }),
        ),
    };
    const outcome = await applyResults({ ...deps, store: racing, logger }, [
      result(moved, { result: { n: 1 } }),
      result(kept, { result: { n: 2 } }),
    ]);
    expect(outcome).toMatchObject({ applied: 2, ignored: 0 });
    expect(await store.getTask(moved.id)).toMatchObject({
      status: 'CANCELED',
      result: null,
      finishedAt: null,
    });
    expect(await store.getTask(kept.id)).toMatchObject({ status: 'COMPLETED', result: { n: 2 } });
    const warned = lines.map((l) => JSON.parse(l) as { msg: string; taskId?: string });
    expect(warned).toEqual([
      expect.objectContaining({ msg: 'task changed concurrently; result not applied', taskId: moved.id }),
    ]);
  });

  it("results of several tasks interleaved in one batch keep each task's events in the order they were sent", async () => {
    const [a, b] = [await seed('QUEUED'), await seed('QUEUED')];
    const run = (task: TaskRecord, base: number): ResultMessage[] => [
      result(task, { type: 'started', at: base }),
      result(task, { type: 'progress', pct: 10, at: base + 1 }),
      result(task, { type: 'log', message: 'one', at: base + 2 }),
      result(task, { type: 'progress', pct: 60, at: base + 3 }),
      result(task, { type: 'log', message: 'two', at: base + 4 }),
      result(task, { type: 'succeeded', result: { done: true }, at: base + 5 }),
    ];
    const [ra, rb] = [run(a, T0.getTime() + 100), run(b, T0.getTime() + 200)];
    // One batch as a fetch across partitions can deliver it: the two tasks' messages interleaved.
    await applyResults(
      deps,
      ra.flatMap((m, i) => [m, rb[i]!]),
    );
    const expected = [
      ['started', undefined],
      ['progress', 10],
      ['log', 'one'],
      ['progress', 60],
      ['log', 'two'],
      ['succeeded', undefined],
    ];
    for (const task of [a, b]) {
      // listEvents reads in event id order: the ids were handed out in the order the results came.
      const recorded = await store.listEvents(task.id);
      const detail = (d: unknown) => {
        const data = d as { pct?: number; line?: string } | null;
        return data?.pct ?? data?.line;
      };
      expect(recorded.map((e) => [e.type, detail(e.data)])).toEqual(expected);
      expect(await store.getTask(task.id)).toMatchObject({ status: 'COMPLETED', result: { done: true } });
    }
  });
});
