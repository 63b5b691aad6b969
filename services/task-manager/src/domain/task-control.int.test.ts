// Cancel, manual retry and the timeout watchdog on a real SQLite store (dialect-neutral: one dialect).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ControlMessage, DispatchMessage, TaskStatus } from '@taskwire/contracts';
import type { Store, TaskRecord } from '../store/types.js';
import { createWatchdog } from '../scheduler/watchdog.js';
import { cancelTask } from './cancel.js';
import type { Clock } from './clock.js';
import type { DomainDeps } from './deps.js';
import { AppError } from './errors.js';
import { retryTask } from './manual-retry.js';
import { timeOutOverdueTasks } from './timeouts.js';
import { openSqliteDeps } from '../testing/sqlite-deps.js';
import { seedTask, templateAt } from '../testing/seed.js';

const T0 = new Date('2024-03-01T12:00:00Z');
let now = T0;
const clock: Clock = { now: () => now };
const signalled = { outbox: 0, dueAt: [] as Date[] };
let store: Store;
let deps: DomainDeps;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  now = T0;
  signalled.outbox = 0;
  signalled.dueAt = [];
  ({
    store,
    deps,
    close: cleanup,
  } = await openSqliteDeps({
    clock,
    signals: {
      outboxWritten: () => void signalled.outbox++,
      dueAt: (at) => void signalled.dueAt.push(at),
      templatesChanged: () => {},
    },
  }));
});
afterEach(() => cleanup());

const template = templateAt(T0, { name: 'control-test', maxAttempts: 3 });

function seed(status: TaskStatus, patch: Partial<TaskRecord> = {}): Promise<TaskRecord> {
  const workerId = status === 'RUNNING' ? 'worker-1' : null;
  return seedTask(store, template, T0, { params: { n: 1 }, status, timeoutMs: 10_000, workerId, ...patch });
}

const eventTypes = async (id: string): Promise<string[]> => (await store.listEvents(id)).map((e) => e.type);
const outbox = async (): Promise<Array<{ topic: string; key: string; message: unknown }>> =>
  (await store.listUnsentOutbox(100)).map((o) => ({
    topic: o.topic,
    key: o.key,
    message: JSON.parse(o.payload),
  }));

async function rejection(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('cancelTask', () => {
  it('cancels a PENDING task at once, with no control message', async () => {
    const task = await seed('PENDING', { runAt: new Date(T0.getTime() + 60_000) });
    now = new Date(T0.getTime() + 5);
    const canceled = await cancelTask(deps, task.id);
    expect(canceled).toMatchObject({ status: 'CANCELED', finishedAt: now });
    expect(await store.getTask(task.id)).toMatchObject({ status: 'CANCELED', finishedAt: now });
    expect(await eventTypes(task.id)).toEqual(['canceled']);
    expect(await outbox()).toEqual([]);
  });

  it('cancels a QUEUED task and tells the workers to skip its dispatch message', async () => {
    const task = await seed('QUEUED');
    const canceled = await cancelTask(deps, task.id);
    expect(canceled.status).toBe('CANCELED');
    const control: ControlMessage = { v: 1, type: 'cancel', task_id: task.id, attempt: 1, at: T0.getTime() };
    expect(await outbox()).toEqual([{ topic: 'control', key: task.id, message: control }]);
    expect(signalled.outbox).toBe(1);
  });

  it('cancels a RETRYING task so the due loop never queues it again', async () => {
    const task = await seed('RETRYING', { nextAttemptAt: new Date(T0.getTime() + 1_000) });
    await cancelTask(deps, task.id);
    expect(await store.getTask(task.id)).toMatchObject({ status: 'CANCELED', nextAttemptAt: null });
    expect(await store.listDueTasks(new Date(T0.getTime() + 10_000), 10)).toEqual([]);
  });

  it('asks the worker of a RUNNING task to stop and leaves it RUNNING, twice if asked twice', async () => {
    const task = await seed('RUNNING');
    expect((await cancelTask(deps, task.id)).status).toBe('RUNNING');
    expect((await cancelTask(deps, task.id)).status).toBe('RUNNING');
    expect(await eventTypes(task.id)).toEqual(['cancel_requested', 'cancel_requested']);
    const rows = await outbox();
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.topic === 'control' && r.key === task.id)).toBe(true);
  });

  it('returns a CANCELED task unchanged', async () => {
    const task = await seed('PENDING');
    await cancelTask(deps, task.id);
    const again = await cancelTask(deps, task.id);
    expect(again.status).toBe('CANCELED');
    expect(await eventTypes(task.id)).toEqual(['canceled']);
  });

  it.each(['COMPLETED', 'FAILED', 'TIMED_OUT'] as const)(
    'refuses to cancel a %s task, naming its status',
    async (s) => {
      const task = await seed(s, { finishedAt: T0 });
      const err = await rejection(cancelTask(deps, task.id));
      expect(err).toMatchObject({ code: 'invalid_transition', status: 409 });
      expect(err.message).toContain(`is ${s}`);
      expect(await outbox()).toEqual([]);
      expect((await store.getTask(task.id))?.status).toBe(s);
    },
  );

  it('reports an unknown task as not found', async () => {
    const err = await rejection(cancelTask(deps, 'NO-SUCH-TASK'));
    expect(err).toMatchObject({ code: 'not_found', status: 404 });
    expect(err.message).toContain('"NO-SUCH-TASK"');
  });
});

describe('retryTask', () => {
  it.each(['FAILED', 'TIMED_OUT', 'CANCELED'] as const)('queues a new attempt of a %s task', async (s) => {
    const task = await seed(s, { attempt: 1, finishedAt: T0, workerId: 'worker-1', startedAt: T0 });
    now = new Date(T0.getTime() + 1_000);
    const retried = await retryTask(deps, task.id);
    expect(retried).toMatchObject({
      status: 'QUEUED',
      attempt: 2,
      maxAttempts: 3,
      trigger: 'api',
      queuedAt: now,
    });
    expect(await store.getTask(task.id)).toMatchObject({
      status: 'QUEUED',
      attempt: 2,
      startedAt: null,
      finishedAt: null,
      workerId: null,
    });
    const [queued] = await store.listEvents(task.id);
    expect(queued).toMatchObject({ type: 'queued', attempt: 2 });
    expect(queued?.data).toMatchObject({ retry: 'manual', from: s, previous_attempt: 1 });
    const [row] = await outbox();
    expect(row?.topic).toBe('dispatch');
    expect(row?.message).toMatchObject({ task_id: task.id, attempt: 2 } satisfies Partial<DispatchMessage>);
    expect(signalled.outbox).toBe(1);
  });

  it('raises max_attempts when the task had used them all, and keeps its trigger', async () => {
    const task = await seed('FAILED', { attempt: 3, maxAttempts: 3, trigger: 'cron', scheduledFor: T0 });
    const retried = await retryTask(deps, task.id);
    expect(retried).toMatchObject({ attempt: 4, maxAttempts: 4, trigger: 'cron' });
    expect(await store.getTask(task.id)).toMatchObject({ attempt: 4, maxAttempts: 4, status: 'QUEUED' });
  });

  it.each(['PENDING', 'QUEUED', 'RUNNING', 'RETRYING', 'COMPLETED'] as const)(
    'refuses to retry a %s task',
    async (s) => {
      const task = await seed(s);
      const err = await rejection(retryTask(deps, task.id));
      expect(err).toMatchObject({ code: 'invalid_transition', status: 409 });
      expect(err.message).toContain(`is ${s}`);
      expect(await outbox()).toEqual([]);
    },
  );

  it('reports an unknown task as not found', async () => {
    expect(await rejection(retryTask(deps, 'NO-SUCH-TASK'))).toMatchObject({ code: 'not_found' });
  });
});

describe('timeout watchdog', () => {
  const graceMs = 5_000;
  const past = (ms: number): Date => new Date(T0.getTime() + ms);

  it('times out a RUNNING task past timeout + grace and schedules its retry with backoff', async () => {
    const running = await seed('RUNNING');
    const withinGrace = await seed('RUNNING', { startedAt: past(2_000) });
    const backlog = await seed('QUEUED');
    now = past(10_000 + graceMs + 1_000);

    const outcome = await timeOutOverdueTasks(deps, { graceMs });
    expect(outcome).toMatchObject({ timedOut: 1, retried: 1 });
    // Template backoff: first retry after initial_ms (no jitter).
    const retryAt = new Date(now.getTime() + 1_000);
    expect(await store.getTask(running.id)).toMatchObject({
      status: 'RETRYING',
      attempt: 1,
      nextAttemptAt: retryAt,
      error: { code: 'watchdog_timeout', retryable: true },
    });
    expect(await eventTypes(running.id)).toEqual(['timed_out', 'retry_scheduled']);
    expect(signalled.dueAt).toEqual([retryAt]);
    expect((await store.getTask(withinGrace.id))?.status).toBe('RUNNING');
    // A QUEUED task waiting in a backlog is never the watchdog's business.
    expect((await store.getTask(backlog.id))?.status).toBe('QUEUED');
    // The retry is due for the due loop at retryAt.
    expect((await store.listDueTasks(retryAt, 10)).map((t) => t.id)).toEqual([running.id]);
  });

  it('leaves a task on its last attempt TIMED_OUT', async () => {
    const task = await seed('RUNNING', { attempt: 3, maxAttempts: 3 });
    now = past(60_000);
    expect(await timeOutOverdueTasks(deps, { graceMs })).toMatchObject({ timedOut: 1, retried: 0 });
    expect(await store.getTask(task.id)).toMatchObject({
      status: 'TIMED_OUT',
      finishedAt: now,
      nextAttemptAt: null,
    });
    expect(await eventTypes(task.id)).toEqual(['timed_out']);
    expect(signalled.dueAt).toEqual([]);
  });

  it('leaves a task alone once its worker has reported a result', async () => {
    const task = await seed('RUNNING');
    now = past(60_000);
    await store.updateTask(task.id, { status: 'COMPLETED', finishedAt: now });
    expect(await timeOutOverdueTasks(deps, { graceMs })).toMatchObject({ timedOut: 0 });
    expect((await store.getTask(task.id))?.status).toBe('COMPLETED');
  });

  it('runs on its own interval once started', async () => {
    const task = await seed('RUNNING');
    now = past(60_000);
    const watchdog = createWatchdog({ ...deps, graceMs, intervalMs: 20 });
    watchdog.start();
    try {
      for (let i = 0; i < 200 && (await store.getTask(task.id))?.status === 'RUNNING'; i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      await watchdog.stop();
    }
    expect((await store.getTask(task.id))?.status).toBe('RETRYING');
  });
});
