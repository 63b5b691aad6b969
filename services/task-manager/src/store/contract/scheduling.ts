// Store contract: what the scheduler asks — due tasks, next due time, overdue tasks, cron bookkeeping.
import { describe, expect, it } from 'vitest';
import type { MakeStore } from './harness.js';
import { useStore } from './harness.js';
import { at, ids, makeTask, newId } from './fixtures.js';

export function schedulingContract(makeStore: MakeStore): void {
  // These queries read the whole tasks table: a fresh store per test.
  describe('due and overdue tasks', () => {
    const store = useStore(makeStore, 'each');

    it('listDueTasks returns due PENDING and RETRYING tasks, oldest due first, up to the limit', async () => {
      const pendingLate = makeTask({ status: 'PENDING', runAt: at(300), queuedAt: null });
      const retrying = makeTask({ status: 'RETRYING', nextAttemptAt: at(200), runAt: at(-5000) });
      const pendingEarly = makeTask({ status: 'PENDING', runAt: at(100), queuedAt: null });
      const pendingExact = makeTask({ status: 'PENDING', runAt: at(1000), queuedAt: null });
      const notYet = [
        makeTask({ status: 'PENDING', runAt: at(1001), queuedAt: null }),
        makeTask({ status: 'RETRYING', nextAttemptAt: at(5000) }),
      ];
      // Due times in the past, but statuses the sweep must not touch.
      const others = [
        makeTask({ status: 'QUEUED', runAt: at(0), nextAttemptAt: at(0) }),
        makeTask({ status: 'CANCELED', runAt: at(0) }),
        makeTask({ status: 'FAILED', nextAttemptAt: at(0) }),
      ];
      await store().insertTasks([pendingLate, retrying, pendingEarly, pendingExact, ...notYet, ...others]);
      expect(ids(await store().listDueTasks(at(1000), 10))).toEqual(
        ids([pendingEarly, retrying, pendingLate, pendingExact]),
      );
      expect(ids(await store().listDueTasks(at(1000), 2))).toEqual(ids([pendingEarly, retrying]));
      expect(await store().listDueTasks(at(99), 10)).toEqual([]);
    });

    it('listLostDispatches finds QUEUED tasks of the queue and partition below the offset, queued before the cutoff', async () => {
      const lost = (over: Parameters<typeof makeTask>[0]) =>
        makeTask({
          status: 'QUEUED',
          queue: 'q',
          queuedAt: at(0),
          dispatchPartition: 2,
          dispatchOffset: 5,
          ...over,
        });
      const older = lost({ queuedAt: at(-10), dispatchOffset: 3 });
      const oldest = lost({ queuedAt: at(-20), dispatchOffset: 4 });
      const none = [
        lost({ dispatchOffset: 10 }), // at the log start: still readable
        lost({ dispatchPartition: 1 }),
        lost({ queue: 'other' }),
        lost({ queuedAt: at(1_000) }), // too recent
        lost({ status: 'RUNNING' }),
        lost({ dispatchPartition: null, dispatchOffset: null }), // not sent yet
      ];
      await store().insertTasks([older, ...none, oldest]);
      const q = { queue: 'q', partition: 2, belowOffset: 10, queuedBefore: at(500), limit: 10 };
      expect(ids(await store().listLostDispatches(q))).toEqual(ids([oldest, older]));
      expect(ids(await store().listLostDispatches({ ...q, limit: 1 }))).toEqual(ids([oldest]));
      const [found] = await store().listLostDispatches(q);
      expect(found).toMatchObject({ dispatchPartition: 2, dispatchOffset: 4 });
    });

    it('recordDispatchOffsets sets partition and offset on QUEUED tasks only', async () => {
      const queued = makeTask({ status: 'QUEUED' });
      const other = makeTask({ status: 'QUEUED' });
      const running = makeTask({ status: 'RUNNING' });
      await store().insertTasks([queued, other, running]);
      await store().recordDispatchOffsets([
        { taskId: queued.id, partition: 3, offset: 9_007_199_254 },
        { taskId: running.id, partition: 1, offset: 7 },
        { taskId: 'no-such-task', partition: 0, offset: 1 },
      ]);
      expect(await store().getTask(queued.id)).toMatchObject({
        dispatchPartition: 3,
        dispatchOffset: 9_007_199_254,
      });
      expect(await store().getTask(other.id)).toMatchObject({
        dispatchPartition: null,
        dispatchOffset: null,
      });
      expect(await store().getTask(running.id)).toMatchObject({
        dispatchPartition: null,
        dispatchOffset: null,
      });
      await store().recordDispatchOffsets([]);
    });

    it('recordDispatchOffsets keeps the last offset of a task named twice, and covers batches of any size', async () => {
      // A task published again (a new attempt) before the relay marked the first: the later wins.
      const twice = makeTask({ status: 'QUEUED' });
      const many = Array.from({ length: 700 }, () => makeTask({ status: 'QUEUED' }));
      await store().insertTasks([twice, ...many]);
      await store().recordDispatchOffsets([
        { taskId: twice.id, partition: 1, offset: 5 },
        ...many.map((t, i) => ({ taskId: t.id, partition: 2, offset: 100 + i })),
        { taskId: twice.id, partition: 1, offset: 8 },
      ]);
      expect(await store().getTask(twice.id)).toMatchObject({ dispatchPartition: 1, dispatchOffset: 8 });
      const stored = await store().getTasks(many.map((t) => t.id));
      expect(new Map(stored.map((t) => [t.id, t.dispatchOffset]))).toEqual(
        new Map(many.map((t, i) => [t.id, 100 + i])),
      );
    });

    it('nextDueAt is the earliest run_at or next_attempt_at of waiting tasks, else null', async () => {
      expect(await store().nextDueAt()).toBeNull();
      await store().insertTasks([makeTask({ status: 'QUEUED', runAt: at(-999_999) })]);
      expect(await store().nextDueAt()).toBeNull();
      await store().insertTasks([makeTask({ status: 'PENDING', runAt: at(5_001), queuedAt: null })]);
      expect(await store().nextDueAt()).toEqual(at(5_001));
      await store().insertTasks([makeTask({ status: 'RETRYING', nextAttemptAt: at(4_321) })]);
      expect(await store().nextDueAt()).toEqual(at(4_321));
      await store().insertTasks([makeTask({ status: 'PENDING', runAt: at(4_000), queuedAt: null })]);
      expect(await store().nextDueAt()).toEqual(at(4_000));
    });

    it('listOverdueTasks finds RUNNING tasks past their timeout plus grace, never QUEUED ones', async () => {
      const now = at(100_000);
      const grace = 5_000;
      // Deadline = since + timeout; overdue when deadline < now - grace = at(95_000).
      const runningOver = makeTask({ status: 'RUNNING', startedAt: at(80_000), timeoutMs: 10_000 });
      const queuedOver = makeTask({ status: 'QUEUED', queuedAt: at(0), timeoutMs: 1_000 });
      const runningOnEdge = makeTask({ status: 'RUNNING', startedAt: at(85_000), timeoutMs: 10_000 });
      const runningInGrace = makeTask({ status: 'RUNNING', startedAt: at(88_000), timeoutMs: 10_000 });
      const longTimeout = makeTask({ status: 'RUNNING', startedAt: at(0), timeoutMs: 1_000_000 });
      const finished = makeTask({ status: 'COMPLETED', startedAt: at(0), queuedAt: at(0), timeoutMs: 1 });
      await store().insertTasks([
        runningOver,
        queuedOver,
        runningOnEdge,
        runningInGrace,
        longTimeout,
        finished,
      ]);
      // A QUEUED task may wait in a backlog for any time: only a started attempt has a deadline.
      expect(ids(await store().listOverdueTasks(now, grace, 10))).toEqual(ids([runningOver]));
      expect(ids(await store().listOverdueTasks(now, 0, 1))).toEqual(ids([runningOver]));
      expect(ids(await store().listOverdueTasks(now, 0, 10))).toEqual(
        ids([runningOver, runningOnEdge, runningInGrace]),
      );
      expect(ids(await store().listOverdueTasks(now, 0, 10))).not.toContain(queuedOver.id);
    });
  });

  describe('cron bookkeeping', () => {
    const store = useStore(makeStore);

    it('hasActiveTask is true while a task of the template is PENDING, QUEUED, RUNNING or RETRYING', async () => {
      const templateId = newId();
      expect(await store().hasActiveTask(templateId)).toBe(false);
      const t = makeTask({ templateId, status: 'COMPLETED' });
      await store().insertTasks([t, makeTask({ status: 'RUNNING' })]);
      expect(await store().hasActiveTask(templateId)).toBe(false);
      for (const status of ['PENDING', 'QUEUED', 'RUNNING', 'RETRYING'] as const) {
        await store().updateTask(t.id, { status });
        expect(await store().hasActiveTask(templateId), status).toBe(true);
      }
      for (const status of ['FAILED', 'TIMED_OUT', 'CANCELED'] as const) {
        await store().updateTask(t.id, { status });
        expect(await store().hasActiveTask(templateId), status).toBe(false);
      }
    });

    it('lastScheduledFor is the latest fire time of the template, or null', async () => {
      const templateId = newId();
      expect(await store().lastScheduledFor(templateId)).toBeNull();
      await store().insertTasks([makeTask({ templateId, trigger: 'api' })]);
      expect(await store().lastScheduledFor(templateId)).toBeNull();
      await store().insertTasks([
        makeTask({ templateId, trigger: 'cron', scheduledFor: at(120_001) }),
        makeTask({ templateId, trigger: 'cron', scheduledFor: at(60_001) }),
        makeTask({ templateId: newId(), trigger: 'cron', scheduledFor: at(999_999) }),
      ]);
      expect(await store().lastScheduledFor(templateId)).toEqual(at(120_001));
    });
  });
}
