// Store contract: units of work (all or nothing), migrations and ping.
import { describe, expect, it } from 'vitest';
import { UniqueViolation } from '../types.js';
import type { MakeStore } from './harness.js';
import { useStore } from './harness.js';
import {
  at,
  makeEvent,
  makeOutbox,
  makeTask,
  makeTemplate,
  makeWorker,
  newId,
  uniqueName,
} from './fixtures.js';

export function unitOfWorkContract(makeStore: MakeStore): void {
  describe('unitOfWork', () => {
    const store = useStore(makeStore);

    it('commits every write of the unit together and returns what fn returns', async () => {
      const template = makeTemplate();
      const task = makeTask({ templateId: template.id });
      const result = await store().unitOfWork(async (tx) => {
        await tx.insertTemplate(template);
        await tx.insertTasks([task]);
        await tx.insertEvents([makeEvent(task.id)]);
        await tx.insertOutbox([makeOutbox(task.id)]);
        // A unit of work reads its own writes.
        expect(await tx.getTask(task.id)).toEqual(task);
        expect(await tx.updateTask(task.id, { status: 'RUNNING' }, { status: ['QUEUED'] })).toBe(true);
        return 'done';
      });
      expect(result).toBe('done');
      expect(await store().getTemplate(template.id)).toEqual(template);
      expect((await store().getTask(task.id))?.status).toBe('RUNNING');
      expect(await store().listEvents(task.id)).toHaveLength(1);
      expect((await store().listUnsentOutbox(10_000)).map((r) => r.key)).toContain(task.id);
    });

    it('when fn throws, nothing it wrote is left and the error comes out unchanged', async () => {
      const template = makeTemplate();
      const existing = makeTask();
      await store().insertTasks([existing]);
      const tasks = Array.from({ length: 1200 }, () => makeTask({ templateId: template.id }));
      const worker = makeWorker();
      const boom = new Error('boom');
      const outcome = store().unitOfWork(async (tx) => {
        await tx.insertTemplate(template);
        await tx.insertTasks(tasks);
        await tx.insertEvents(tasks.map((t) => makeEvent(t.id)));
        await tx.insertOutbox(tasks.map((t) => makeOutbox(t.id)));
        await tx.updateTask(existing.id, { status: 'CANCELED', updatedAt: at(1) });
        await tx.upsertWorkers([worker]);
        await new Promise((resolve) => setImmediate(resolve));
        throw boom;
      });
      await expect(outcome).rejects.toBe(boom);
      expect(await store().getTemplateIncludingDeleted(template.id)).toBeNull();
      expect(await store().getTasks(tasks.map((t) => t.id))).toEqual([]);
      expect(await store().listEvents(tasks[0]!.id)).toEqual([]);
      const unsentKeys = new Set((await store().listUnsentOutbox(100_000)).map((r) => r.key));
      expect(tasks.some((t) => unsentKeys.has(t.id))).toBe(false);
      expect(await store().getTask(existing.id)).toEqual(existing);
      expect((await store().listWorkers()).map((w) => w.id)).not.toContain(worker.id);
    });

    it('a UniqueViolation inside a unit of work rolls back the writes before it', async () => {
      const key = uniqueName('idem');
      await store().insertTasks([makeTask({ idempotencyKey: key })]);
      const first = makeTask();
      const outcome = store().unitOfWork(async (tx) => {
        await tx.insertTasks([first]);
        await tx.insertTasks([makeTask({ idempotencyKey: key })]);
      });
      await expect(outcome).rejects.toBeInstanceOf(UniqueViolation);
      await expect(outcome).rejects.toMatchObject({ constraint: 'task_idempotency_key' });
      expect(await store().getTask(first.id)).toBeNull();
    });

    it('insertTaskIfAbsent inside a unit of work does not spoil the rest of it', async () => {
      const templateId = newId();
      await store().insertTasks([makeTask({ templateId, scheduledFor: at(0) })]);
      const other = makeTask();
      await store().unitOfWork(async (tx) => {
        expect(await tx.insertTaskIfAbsent(makeTask({ templateId, scheduledFor: at(0) }))).toBe(false);
        await tx.insertTasks([other]);
      });
      expect(await store().getTask(other.id)).toEqual(other);
    });

    it('concurrent units of work each commit exactly their own writes', async () => {
      const batches = Array.from({ length: 8 }, () => Array.from({ length: 20 }, () => makeTask()));
      await Promise.all(
        batches.map((batch, i) =>
          store().unitOfWork(async (tx) => {
            await tx.insertTasks(batch);
            await tx.insertEvents(batch.map((t) => makeEvent(t.id, { data: { unit: i } })));
            for (const t of batch) await tx.updateTask(t.id, { status: 'RUNNING' }, { status: ['QUEUED'] });
          }),
        ),
      );
      const all = batches.flat();
      const got = await store().getTasks(all.map((t) => t.id));
      expect(got).toHaveLength(all.length);
      expect(got.every((t) => t.status === 'RUNNING')).toBe(true);
      expect(await store().listEvents(all[all.length - 1]!.id)).toMatchObject([{ data: { unit: 7 } }]);
    });
  });

  describe('migrations', () => {
    it('ping fails until migrate has run, and migrating again changes nothing', async () => {
      const { store, cleanup } = await makeStore();
      try {
        await expect(store.ping()).rejects.toThrow(/not migrated/);
        await store.migrate();
        await store.ping();
        const t = makeTask();
        await store.insertTasks([t]);
        await store.migrate();
        await store.ping();
        expect(await store.getTask(t.id)).toEqual(t);
      } finally {
        await cleanup();
      }
    });
  });
}
