// Store contract: tasks — round-trips, unique keys, insertTaskIfAbsent, guarded updates, listing.
import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../types.js';
import { UniqueViolation } from '../types.js';
import type { MakeStore } from './harness.js';
import { useStore } from './harness.js';
import { at, ids, makeTask, newId, uniqueName } from './fixtures.js';

export function tasksContract(makeStore: MakeStore): void {
  describe('tasks', () => {
    const store = useStore(makeStore);

    it('params of every JSON shape, unicode, errors and times round-trip exactly', async () => {
      const shapes: unknown[] = [
        { a: 1, nested: { list: [1, 'two', null, { three: 3 }] }, empty: {}, none: null },
        [1, [2, [3]], 'x'],
        'a plain string',
        42.5,
        true,
        null,
        { text: 'Grüße 世界 🚀 \n\t "q" \\ \u00e9' },
      ];
      const rows = shapes.map((params, i) =>
        makeTask({
          params,
          templateId: newId(),
          status: 'FAILED',
          result: i % 2 ? { out: [i, 'ok'] } : null,
          error: { message: `boom ${i} 💥`, code: 'E_X', retryable: false, data: { exit: 2 } },
          backoff: i % 2 ? { initialMs: 10, factor: 3, maxMs: 1000, jitter: 0.5 } : null,
          description: 'déjà vu',
          runAt: at(1),
          nextAttemptAt: at(2),
          scheduledFor: at(3),
          createdAt: at(4),
          queuedAt: at(5),
          startedAt: at(6),
          finishedAt: at(7),
          updatedAt: at(8),
          workerId: 'worker-1',
          trigger: 'cron',
          idempotencyKey: uniqueName('key'),
          timeoutMs: 3_000_000_000,
        }),
      );
      await store().insertTasks(rows);
      for (const row of rows) expect(await store().getTask(row.id)).toEqual(row);
      expect(await store().getTask(newId())).toBeNull();
    });

    it('insertTasks writes a batch larger than one statement and getTasks reads it back', async () => {
      const templateId = newId();
      const rows = Array.from({ length: 2500 }, (_, i) => makeTask({ templateId, params: { i } }));
      await store().insertTasks(rows);
      const got = await store().getTasks(rows.map((r) => r.id));
      expect(got).toHaveLength(2500);
      expect(new Set(ids(got))).toEqual(new Set(ids(rows)));
      expect(await store().getTasks([])).toEqual([]);
      await store().insertTasks([]);
    });

    it('a duplicate idempotency key is a UniqueViolation and the batch inserts nothing', async () => {
      const key = uniqueName('idem');
      const first = makeTask({ idempotencyKey: key });
      await store().insertTasks([first]);
      const batch = [makeTask(), makeTask({ idempotencyKey: key }), makeTask()];
      const attempt = store().insertTasks(batch);
      await expect(attempt).rejects.toBeInstanceOf(UniqueViolation);
      await expect(attempt).rejects.toMatchObject({ constraint: 'task_idempotency_key' });
      expect(await store().getTasks(ids(batch) as string[])).toEqual([]);
      expect(ids(await store().getTasksByIdempotencyKeys([key, 'missing']))).toEqual([first.id]);
      expect(await store().getTasksByIdempotencyKeys([])).toEqual([]);
    });

    it('a second task for the same template and fire time is a UniqueViolation on task_schedule', async () => {
      const templateId = newId();
      await store().insertTasks([makeTask({ templateId, scheduledFor: at(60_000), trigger: 'cron' })]);
      const dup = store().insertTasks([makeTask({ templateId, scheduledFor: at(60_000), trigger: 'cron' })]);
      await expect(dup).rejects.toMatchObject({ name: 'UniqueViolation', constraint: 'task_schedule' });
      // Another template, another time, or no time at all do not collide.
      await store().insertTasks([
        makeTask({ templateId: newId(), scheduledFor: at(60_000) }),
        makeTask({ templateId, scheduledFor: at(120_000) }),
        makeTask({ templateId }),
        makeTask({ templateId }),
      ]);
    });

    it('insertTaskIfAbsent inserts once and reports a duplicate key as false', async () => {
      const templateId = newId();
      const cron = makeTask({ templateId, scheduledFor: at(0), trigger: 'cron' });
      expect(await store().insertTaskIfAbsent(cron)).toBe(true);
      expect(await store().insertTaskIfAbsent({ ...cron, id: newId() })).toBe(false);
      expect(await store().insertTaskIfAbsent(cron)).toBe(false);
      const keyed = makeTask({ idempotencyKey: uniqueName('k') });
      expect(await store().insertTaskIfAbsent(keyed)).toBe(true);
      expect(await store().insertTaskIfAbsent({ ...keyed, id: newId() })).toBe(false);
      expect(await store().getTask(cron.id)).toEqual(cron);
    });

    it('updateTask applies a patch, can null a column, and is false for an unknown id', async () => {
      const t = makeTask({ status: 'RUNNING', error: { message: 'x', retryable: true }, workerId: 'w' });
      await store().insertTasks([t]);
      const patch = {
        status: 'COMPLETED' as const,
        result: { ok: ['✓'] },
        error: null,
        workerId: null,
        finishedAt: at(10),
        updatedAt: at(10),
      };
      expect(await store().updateTask(t.id, patch)).toBe(true);
      expect(await store().getTask(t.id)).toEqual({ ...t, ...patch });
      expect(await store().updateTask(newId(), { status: 'CANCELED' })).toBe(false);
    });

    it('a guarded update with the wrong status or an older attempt changes nothing', async () => {
      const t = makeTask({ status: 'RUNNING', attempt: 2 });
      await store().insertTasks([t]);
      const done = { status: 'COMPLETED' as const, updatedAt: at(1) };
      expect(await store().updateTask(t.id, done, { status: ['QUEUED', 'PENDING'] })).toBe(false);
      expect(await store().updateTask(t.id, done, { status: ['RUNNING'], attempt: 1 })).toBe(false);
      expect(await store().updateTask(t.id, done, { attempt: 3 })).toBe(false);
      expect(await store().updateTask(t.id, done, { status: [] })).toBe(false);
      expect(await store().getTask(t.id)).toEqual(t);
      expect(await store().updateTask(t.id, {}, { status: ['RUNNING'], attempt: 2 })).toBe(true);
      expect(await store().updateTask(t.id, done, { status: ['QUEUED', 'RUNNING'], attempt: 2 })).toBe(true);
      expect(await store().getTask(t.id)).toEqual({ ...t, ...done });
      // The same guard again no longer matches: the status moved on.
      expect(await store().updateTask(t.id, done, { status: ['RUNNING'], attempt: 2 })).toBe(false);
    });
  });

  describe('task listing', () => {
    const store = useStore(makeStore);

    it('listTasks returns newest first and pages with beforeId', async () => {
      const templateId = newId();
      const rows = Array.from({ length: 7 }, () => makeTask({ templateId }));
      await store().insertTasks(rows);
      const newestFirst = ids(rows).reverse();
      const page1 = await store().listTasks({ templateId, limit: 3 });
      expect(ids(page1)).toEqual(newestFirst.slice(0, 3));
      const page2 = await store().listTasks({ templateId, limit: 3, beforeId: page1[2]!.id });
      expect(ids(page2)).toEqual(newestFirst.slice(3, 6));
      const page3 = await store().listTasks({ templateId, limit: 3, beforeId: page2[2]!.id });
      expect(ids(page3)).toEqual(newestFirst.slice(6));
    });

    it('listTasks filters by status, template and created range', async () => {
      const a = newId();
      const b = newId();
      const rows: TaskRecord[] = [
        makeTask({ templateId: a, status: 'QUEUED', createdAt: at(0) }),
        makeTask({ templateId: a, status: 'FAILED', createdAt: at(1000) }),
        makeTask({ templateId: b, status: 'FAILED', createdAt: at(2000) }),
        makeTask({ templateId: b, status: 'COMPLETED', createdAt: at(3000) }),
      ];
      await store().insertTasks(rows);
      const [q, fa, fb, cb] = ids(rows);
      const list = async (f: Partial<Parameters<ReturnType<typeof store>['listTasks']>[0]>) =>
        ids(await store().listTasks({ limit: 100, ...f })).filter((id) => ids(rows).includes(id));
      expect(await list({ status: ['FAILED'] })).toEqual([fb, fa]);
      expect(await list({ status: ['FAILED', 'QUEUED'], templateId: a })).toEqual([fa, q]);
      expect(await list({ templateId: b })).toEqual([cb, fb]);
      expect(await list({ createdFrom: at(1000), createdTo: at(3000) })).toEqual([fb, fa]);
      expect(await list({ status: [] })).toEqual([cb, fb, fa, q]);
      expect(await store().listTasks({ templateId: newId(), limit: 10 })).toEqual([]);
    });
  });
}
