// Store contract: updateTasks — many guarded task updates at once (result handling's batch).
import { describe, expect, it } from 'vitest';
import type { TaskPatch, TaskRecord, TaskUpdate } from '../types.js';
import type { MakeStore } from './harness.js';
import { useStore } from './harness.js';
import { at, makeTask, newId } from './fixtures.js';

export function batchUpdatesContract(makeStore: MakeStore): void {
  describe('updateTasks', () => {
    const store = useStore(makeStore);
    const done: TaskPatch = { status: 'COMPLETED', result: { ok: 1 }, finishedAt: at(5), updatedAt: at(5) };
    const read = async (rows: TaskRecord[]) =>
      new Map((await store().getTasks(rows.map((t) => t.id))).map((t) => [t.id, t]));

    it('a batch update changes only rows whose guard holds and reports exactly those', async () => {
      const held = makeTask({ status: 'RUNNING', attempt: 1 });
      const olderAttempt = makeTask({ status: 'RUNNING', attempt: 2 });
      const otherStatus = makeTask({ status: 'QUEUED', attempt: 1 });
      const noStatus = makeTask({ status: 'RUNNING', attempt: 1 });
      const emptyPatch = makeTask({ status: 'RUNNING', attempt: 3 });
      const unguarded = makeTask({ status: 'FAILED' });
      const rows = [held, olderAttempt, otherStatus, noStatus, emptyPatch, unguarded];
      await store().insertTasks(rows);
      const guard = { status: ['QUEUED', 'RUNNING'] as const, attempt: 1 };

      const changed = await store().updateTasks([
        { id: held.id, patch: done, guard },
        { id: olderAttempt.id, patch: done, guard },
        { id: otherStatus.id, patch: done, guard: { status: ['RUNNING'], attempt: 1 } },
        { id: noStatus.id, patch: done, guard: { status: [] } },
        { id: emptyPatch.id, patch: {}, guard: { status: ['RUNNING'], attempt: 3 } },
        { id: unguarded.id, patch: { name: 'renamed' } },
        { id: newId(), patch: done, guard },
      ]);

      expect([...changed].sort()).toEqual([held.id, emptyPatch.id, unguarded.id].sort());
      const after = await read(rows);
      expect(after.get(held.id)).toEqual({ ...held, ...done });
      expect(after.get(unguarded.id)).toEqual({ ...unguarded, name: 'renamed' });
      for (const t of [olderAttempt, otherStatus, noStatus, emptyPatch]) expect(after.get(t.id)).toEqual(t);
      expect(await store().updateTasks([])).toEqual(new Set());
    });

    it('mixed patch shapes in one batch are each written exactly, JSON and times included', async () => {
      const rows = Array.from({ length: 9 }, () =>
        makeTask({ status: 'RUNNING', workerId: 'w-0', error: { message: 'old', retryable: true } }),
      );
      await store().insertTasks(rows);
      const patches: TaskPatch[] = rows.map((_, i) => {
        switch (i % 3) {
          case 0: // succeeded; the first row's result is null, a later one's a value
            return {
              status: 'COMPLETED',
              result: i === 0 ? null : { out: ['Grüße 🚀', i, { deep: null }], quote: '"\\' },
              error: null,
              finishedAt: at(10 + i),
              workerId: `w-${i}`,
              updatedAt: at(10 + i),
            };
          case 1: // failed, a retry scheduled
            return {
              status: 'RETRYING',
              error: { message: `boom ${i} 💥`, code: 'E_X', retryable: true, data: { exit: i } },
              nextAttemptAt: at(1000 + i),
              finishedAt: at(20 + i),
              updatedAt: at(20 + i),
            };
          default: // started; one clears the worker
            return {
              status: 'RUNNING',
              startedAt: at(30 + i),
              workerId: i === 2 ? null : 'w-x',
              updatedAt: at(30),
            };
        }
      });
      const changed = await store().updateTasks(
        rows.map((t, i) => ({ id: t.id, patch: patches[i]!, guard: { status: ['RUNNING'], attempt: 1 } })),
      );
      expect(changed).toEqual(new Set(rows.map((t) => t.id)));
      const after = await read(rows);
      rows.forEach((t, i) => expect(after.get(t.id)).toEqual({ ...t, ...patches[i] }));
    });

    it('a row changed by another writer after the read is not overwritten', async () => {
      const [moved, kept] = [makeTask({ status: 'RUNNING' }), makeTask({ status: 'RUNNING' })];
      await store().insertTasks([moved, kept]);
      const seen = await read([moved, kept]);
      // Cancelled between the read and the batch: the batch's guard (from the read) no longer holds.
      await store().updateTask(moved.id, { status: 'CANCELED', updatedAt: at(1) });
      const updates: TaskUpdate[] = [...seen.values()].map((t) => ({
        id: t.id,
        patch: done,
        guard: { status: [t.status], attempt: t.attempt },
      }));
      expect(await store().updateTasks(updates)).toEqual(new Set([kept.id]));
      const after = await read([moved, kept]);
      expect(after.get(moved.id)).toEqual({ ...moved, status: 'CANCELED', updatedAt: at(1) });
      expect(after.get(kept.id)).toEqual({ ...kept, ...done });
    });

    it('a batch larger than one statement applies every row whose guard holds', async () => {
      const rows = Array.from({ length: 2100 }, (_, i) => makeTask({ status: i % 7 ? 'RUNNING' : 'QUEUED' }));
      await store().insertTasks(rows);
      const changed = await store().updateTasks(
        rows.map((t, i) => ({
          id: t.id,
          patch:
            i % 2
              ? done
              : { status: 'FAILED', error: { message: `e${i}`, retryable: false }, updatedAt: at(i) },
          guard: { status: ['RUNNING'], attempt: 1 },
        })),
      );
      const expected = rows.filter((t) => t.status === 'RUNNING');
      expect(changed).toEqual(new Set(expected.map((t) => t.id)));
      const after = await read(rows);
      rows.forEach((t, i) => {
        const status = after.get(t.id)?.status;
        expect(status).toBe(t.status === 'QUEUED' ? 'QUEUED' : i % 2 ? 'COMPLETED' : 'FAILED');
      });
    });

    it('a batch whose results together pass a statement size limit (MariaDB: 16 MiB packets) applies every row', async () => {
      const rows = Array.from({ length: 10 }, () => makeTask({ status: 'RUNNING' }));
      await store().insertTasks(rows);
      const big = (i: number) => ({ blob: String(i).repeat(2_000_000) });
      const changed = await store().updateTasks(
        rows.map((t, i) => ({
          id: t.id,
          patch: { ...done, result: big(i) },
          guard: { status: ['RUNNING'] },
        })),
      );
      expect(changed).toEqual(new Set(rows.map((t) => t.id)));
      const after = await read(rows);
      rows.forEach((t, i) => expect(after.get(t.id)?.result).toEqual(big(i)));
    });

    it('in a unit of work that fails, nothing of the batch is left', async () => {
      const t = makeTask({ status: 'RUNNING' });
      await store().insertTasks([t]);
      const boom = new Error('boom');
      const outcome = store().unitOfWork(async (tx) => {
        expect(await tx.updateTasks([{ id: t.id, patch: done, guard: { status: ['RUNNING'] } }])).toEqual(
          new Set([t.id]),
        );
        throw boom;
      });
      await expect(outcome).rejects.toBe(boom);
      expect(await store().getTask(t.id)).toEqual(t);
    });

    it('a task given twice in one batch is refused and nothing is written', async () => {
      const t = makeTask({ status: 'RUNNING' });
      await store().insertTasks([t]);
      await expect(
        store().updateTasks([
          { id: t.id, patch: done },
          { id: t.id, patch: { status: 'FAILED' } },
        ]),
      ).rejects.toThrow(/twice/);
      expect(await store().getTask(t.id)).toEqual(t);
    });
  });
}
