// Store contract: what admission asks — waiting keys per priority level, the heads of many keys in one read, the batch WAITING→QUEUED, and the reads of admission at creation.
import { describe, expect, it } from 'vitest';
import type { MakeStore } from './harness.js';
import { useStore } from './harness.js';
import { at, makeTask, uniqueName } from './fixtures.js';

export function admissionContract(makeStore: MakeStore): void {
  describe('admission reads and writes', () => {
    const store = useStore(makeStore, 'all');
    const waiting = (queue: string, over: Parameters<typeof makeTask>[0] = {}) =>
      makeTask({ queue, status: 'WAITING', queuedAt: null, ...over });

    it('listQueueSettings reads the named queues by name (any number of names), all queues without names, none for []', async () => {
      const names = Array.from({ length: 600 }, (_, i) => uniqueName(`qs-${String(i).padStart(3, '0')}`));
      for (const [i, name] of names.entries())
        if (i % 10 === 3) await store().upsertQueueSettings(name, { maxInFlight: i + 1 }, at(i));
      const wanted = [...names].reverse();
      const got = await store().listQueueSettings(wanted);
      const stored = names.filter((_, i) => i % 10 === 3);
      expect(got.map((q) => q.name)).toEqual([...stored].sort());
      expect(got.find((q) => q.name === names[3])).toEqual({
        name: names[3],
        maxInFlight: 4,
        paused: false,
        updatedAt: at(3),
      });
      expect(await store().listQueueSettings([])).toEqual([]);
      expect(await store().listQueueSettings([uniqueName('absent')])).toEqual([]);
      const all = (await store().listQueueSettings()).map((q) => q.name);
      expect(all).toEqual(expect.arrayContaining(stored));
      expect([...all].sort()).toEqual(all);
    });

    it('listWaitingKeys gives each key and priority level its oldest waiting id, unkeyed tasks included, with or without templates left out', async () => {
      const queue = uniqueName('adm-keys');
      const rows = [
        waiting(queue, { concurrencyKey: 'b', priority: 5 }),
        waiting(queue, { concurrencyKey: 'a', priority: 9 }),
        waiting(queue, { concurrencyKey: 'a', priority: 5 }),
        waiting(queue, { concurrencyKey: 'a', priority: 9 }),
        waiting(queue, { priority: 1 }),
        waiting(queue, { priority: 7 }),
        waiting(queue, { priority: 7 }),
        waiting(queue, { concurrencyKey: 'c', priority: 3, templateId: 'P'.repeat(26) }),
        makeTask({ queue, status: 'QUEUED', concurrencyKey: 'd' }),
        waiting(uniqueName('other'), { concurrencyKey: 'a' }),
      ];
      await store().insertTasks(rows);
      const view = (list: Awaited<ReturnType<ReturnType<typeof store>['listWaitingKeys']>>) =>
        list.map((g) => `${g.concurrencyKey}/${g.priority}/${g.firstId}`).sort();
      const expected = [
        `a/9/${rows[1]!.id}`,
        `a/5/${rows[2]!.id}`,
        `b/5/${rows[0]!.id}`,
        `c/3/${rows[7]!.id}`,
        `null/1/${rows[4]!.id}`,
        `null/7/${rows[5]!.id}`,
      ].sort();
      expect(view(await store().listWaitingKeys(queue))).toEqual(expected);
      expect(view(await store().listWaitingKeys(queue, ['X'.repeat(26)]))).toEqual(expected);
      expect(view(await store().listWaitingKeys(queue, ['P'.repeat(26)]))).toEqual(
        expected.filter((g) => !g.startsWith('c/')),
      );
      expect(await store().listWaitingKeys(uniqueName('empty'))).toEqual([]);
    });

    it('listWaitingHeads reads up to each key’s limit at one priority, oldest first, in one call over many keys', async () => {
      const queue = uniqueName('adm-heads');
      const a = [1, 2, 3].map((i) => waiting(queue, { concurrencyKey: 'a', createdAt: at(i) }));
      const b = [waiting(queue, { concurrencyKey: 'b' })];
      const unkeyed = [1, 2].map(() => waiting(queue));
      const other = [
        waiting(queue, { concurrencyKey: 'a', priority: 9 }),
        waiting(queue, { concurrencyKey: 'b', templateId: 'P'.repeat(26) }),
      ];
      await store().insertTasks([...a, ...b, ...unkeyed, ...other]);
      const heads = await store().listWaitingHeads(
        queue,
        5,
        [
          { concurrencyKey: 'a', limit: 2 },
          { concurrencyKey: 'b', limit: 5 },
          { concurrencyKey: null, limit: 1 },
          { concurrencyKey: 'none', limit: 3 },
        ],
        ['P'.repeat(26)],
      );
      expect(heads.map((h) => h.id).sort()).toEqual([a[0]!.id, a[1]!.id, b[0]!.id, unkeyed[0]!.id].sort());
      expect(heads.find((h) => h.id === b[0]!.id)).toEqual({
        id: b[0]!.id,
        concurrencyKey: 'b',
        templateId: b[0]!.templateId,
      });
      expect(await store().listWaitingHeads(queue, 5, [])).toEqual([]);
    });

    it('listWaitingHeads reads the heads of 300 keys in one call (MariaDB: no nesting limit on the union)', async () => {
      const queue = uniqueName('adm-many');
      const rows = Array.from({ length: 300 }, (_, i) => waiting(queue, { concurrencyKey: `k${i}` }));
      await store().insertTasks([...rows, waiting(queue, { concurrencyKey: 'k0' })]);
      const wanted = rows.map((_, i) => ({ concurrencyKey: `k${i}`, limit: 1 }));
      const heads = await store().listWaitingHeads(queue, 5, wanted, ['P'.repeat(26), 'Q'.repeat(26)]);
      expect(heads.map((h) => h.id).sort()).toEqual(rows.map((r) => r.id).sort());
    });

    it('getQueueSettings reads one queue’s row, null when it has none', async () => {
      const queue = uniqueName('adm-settings');
      expect(await store().getQueueSettings(queue)).toBeNull();
      await store().upsertQueueSettings(queue, { maxInFlight: 7 }, at(1));
      expect(await store().getQueueSettings(queue)).toMatchObject({
        name: queue,
        maxInFlight: 7,
        paused: false,
        updatedAt: at(1),
      });
      await store().upsertQueueSettings(queue, { paused: true }, at(2));
      expect(await store().getQueueSettings(queue)).toMatchObject({ maxInFlight: 7, paused: true });
    });

    it('hasWaiting says whether a task of the queue waits, at or above a priority when given', async () => {
      const queue = uniqueName('adm-has');
      expect(await store().hasWaiting(queue)).toBe(false);
      await store().insertTasks([
        waiting(queue, { concurrencyKey: 'a', priority: 3 }),
        waiting(queue, { priority: 5 }),
        makeTask({ queue, status: 'QUEUED', priority: 9 }),
        waiting(uniqueName('other'), { priority: 9 }),
      ]);
      expect(await store().hasWaiting(queue)).toBe(true);
      expect(await store().hasWaiting(queue, 0)).toBe(true);
      expect(await store().hasWaiting(queue, 5)).toBe(true);
      expect(await store().hasWaiting(queue, 6)).toBe(false);
    });

    it('keyAdmission gives each key asked for its in-flight count and top waiting priority', async () => {
      const queue = uniqueName('adm-key');
      await store().insertTasks([
        makeTask({ queue, status: 'QUEUED', concurrencyKey: 'a' }),
        makeTask({ queue, status: 'RUNNING', concurrencyKey: 'a' }),
        makeTask({ queue, status: 'COMPLETED', concurrencyKey: 'a' }),
        waiting(queue, { concurrencyKey: 'a', priority: 2 }),
        waiting(queue, { concurrencyKey: 'a', priority: 7 }),
        makeTask({ queue, status: 'RUNNING', concurrencyKey: 'b' }),
        waiting(queue, { priority: 9 }),
        makeTask({ queue: uniqueName('other'), status: 'RUNNING', concurrencyKey: 'c' }),
      ]);
      const rows = await store().keyAdmission(queue, ['a', 'b', 'c', 'a']);
      expect(rows.sort((x, y) => (x.concurrencyKey < y.concurrencyKey ? -1 : 1))).toEqual([
        { concurrencyKey: 'a', inFlight: 2, topWaiting: 7 },
        { concurrencyKey: 'b', inFlight: 1, topWaiting: null },
        { concurrencyKey: 'c', inFlight: 0, topWaiting: null },
      ]);
      expect(await store().keyAdmission(queue, [])).toEqual([]);
    });

    it('queueWaitingTasks moves only tasks still WAITING at the attempt given, and says which', async () => {
      const queue = uniqueName('adm-queue');
      const [w1, w2, retried, canceled] = [
        waiting(queue, { nextAttemptAt: at(5) }),
        waiting(queue, { attempt: 2 }),
        waiting(queue, { attempt: 3 }),
        makeTask({ queue, status: 'CANCELED', queuedAt: null }),
      ];
      await store().insertTasks([w1!, w2!, retried!, canceled!]);
      const moved = await store().unitOfWork((tx) =>
        tx.queueWaitingTasks(
          [w1!, w2!, { id: retried!.id, attempt: 2 }, canceled!].map((t) => ({
            id: t.id,
            attempt: t.attempt,
          })),
          at(100),
        ),
      );
      expect([...moved].sort()).toEqual([w1!.id, w2!.id].sort());
      const after = new Map(
        (await store().getTasks([w1!.id, w2!.id, retried!.id, canceled!.id])).map((t) => [t.id, t]),
      );
      expect(after.get(w1!.id)).toMatchObject({
        status: 'QUEUED',
        queuedAt: at(100),
        updatedAt: at(100),
        nextAttemptAt: null,
      });
      expect(after.get(w2!.id)).toMatchObject({ status: 'QUEUED', attempt: 2 });
      expect(after.get(retried!.id)).toMatchObject({ status: 'WAITING', attempt: 3 });
      expect(after.get(canceled!.id)!.status).toBe('CANCELED');
    });
  });
}
