// Store contract: the append-only tables and the heartbeat table — task events, outbox, workers.
import { describe, expect, it } from 'vitest';
import type { MakeStore } from './harness.js';
import { useStore } from './harness.js';
import { at, makeEvent, makeOutbox, makeTask, makeWorker, newId } from './fixtures.js';

export function eventsOutboxWorkersContract(makeStore: MakeStore): void {
  describe('task events', () => {
    const store = useStore(makeStore);

    it('events come back oldest first per task, with ids assigned and JSON data intact', async () => {
      const taskId = newId();
      const other = newId();
      await store().insertEvents([
        makeEvent(taskId, { type: 'created', data: { params: { a: [1, null, '🚀'] } } }),
        makeEvent(other, { type: 'created' }),
        makeEvent(taskId, { type: 'queued', at: at(1), data: null }),
        { ...makeEvent(taskId, { type: 'started', at: at(2), workerId: 'w-1', attempt: 2 }), id: 999_999 },
        makeEvent(taskId, { type: 'log', at: at(3), data: 'line ✓' }),
      ]);
      const events = await store().listEvents(taskId);
      expect(events.map((e) => [e.type, e.at, e.workerId, e.attempt, e.data])).toEqual([
        ['created', at(0), null, 1, { params: { a: [1, null, '🚀'] } }],
        ['queued', at(1), null, 1, null],
        ['started', at(2), 'w-1', 2, null],
        ['log', at(3), null, 1, 'line ✓'],
      ]);
      const eventIds = events.map((e) => e.id!);
      expect(eventIds.every((id) => typeof id === 'number')).toBe(true);
      expect([...eventIds].sort((x, y) => x - y)).toEqual(eventIds);
      expect(eventIds).not.toContain(999_999);
      expect(await store().listEvents(newId())).toEqual([]);
    });

    it('events after an id come in id order with their task template and queue, filtered', async () => {
      const before = await store().maxEventId();
      const a = makeTask({ templateId: 'A'.repeat(26), queue: 'qa' });
      const b = makeTask({ templateId: 'B'.repeat(26), queue: 'qb' });
      await store().insertTasks([a, b]);
      const orphan = newId();
      await store().insertEvents([
        makeEvent(a.id, { type: 'created' }),
        makeEvent(b.id, { type: 'created' }),
        makeEvent(a.id, { type: 'queued', data: { x: 1 } }),
        makeEvent(orphan, { type: 'log' }),
      ]);
      const all = await store().listEventsAfter(before, 100);
      expect(all.map((e) => [e.taskId, e.type, e.templateId, e.queue])).toEqual([
        [a.id, 'created', a.templateId, 'qa'],
        [b.id, 'created', b.templateId, 'qb'],
        [a.id, 'queued', a.templateId, 'qa'],
        [orphan, 'log', null, null],
      ]);
      expect(all[2]!.data).toEqual({ x: 1 });
      const ids = all.map((e) => e.id);
      expect(await store().maxEventId()).toBe(ids[3]);
      expect((await store().listEventsAfter(ids[0]!, 2)).map((e) => e.id)).toEqual([ids[1], ids[2]]);
      expect((await store().listEventsAfter(before, 100, { upTo: ids[1] })).map((e) => e.id)).toEqual(
        ids.slice(0, 2),
      );
      expect(
        (await store().listEventsAfter(before, 100, { ids: [ids[3]!, ids[0]!] })).map((e) => e.id),
      ).toEqual([ids[0], ids[3]]);
      expect(await store().listEventsAfter(before, 100, { ids: [] })).toEqual([]);
      const f = (filter: Parameters<ReturnType<typeof store>['listEventsAfter']>[2]) =>
        store()
          .listEventsAfter(before, 100, filter)
          .then((es) => es.map((e) => e.id));
      expect(await f({ taskIds: [b.id] })).toEqual([ids[1]]);
      expect(await f({ templateIds: [a.templateId] })).toEqual([ids[0], ids[2]]);
      expect(await f({ queues: ['qb', 'qa'], types: ['created'] })).toEqual([ids[0], ids[1]]);
      expect(await f({ types: ['log'] })).toEqual([ids[3]]);
    });

    it('a batch of thousands of events is written in one call', async () => {
      const taskId = newId();
      const events = Array.from({ length: 6000 }, (_, i) =>
        makeEvent(taskId, { type: 'progress', data: { pct: i } }),
      );
      await store().insertEvents(events);
      await store().insertEvents([]);
      const got = await store().listEvents(taskId);
      expect(got.map((e) => (e.data as { pct: number }).pct)).toEqual(events.map((_, i) => i));
    });
  });

  // The outbox queries read the whole table: a fresh store per test.
  describe('outbox', () => {
    const store = useStore(makeStore, 'each');

    it('unsent rows come back in insert order until marked sent', async () => {
      const keys = Array.from({ length: 5 }, () => newId());
      await store().insertOutbox(keys.map((k, i) => makeOutbox(k, { topic: `t${i % 2}`, createdAt: at(i) })));
      await store().insertOutbox([makeOutbox(newId(), { sentAt: at(0) })]);
      const unsent = await store().listUnsentOutbox(100);
      expect(unsent.map((r) => r.key)).toEqual(keys);
      expect(unsent[1]).toMatchObject({ topic: 't1', createdAt: at(1), sentAt: null });
      expect(JSON.parse(unsent[0]!.payload)).toEqual({ v: 1, task_id: keys[0] });
      expect((await store().listUnsentOutbox(2)).map((r) => r.key)).toEqual(keys.slice(0, 2));

      await store().markOutboxSent([unsent[0]!.id!, unsent[2]!.id!], at(50));
      await store().markOutboxSent([], at(50));
      expect((await store().listUnsentOutbox(100)).map((r) => r.key)).toEqual([keys[1], keys[3], keys[4]]);
      expect(await store().countUnsentOutbox()).toBe(3);
    });

    it('listUnsentOutbox after an id returns only the unsent rows past it, in id order', async () => {
      const keys = Array.from({ length: 6 }, () => newId());
      await store().insertOutbox(keys.map((k) => makeOutbox(k)));
      const rows = await store().listUnsentOutbox(100);
      const ids = rows.map((r) => r.id!);
      await store().markOutboxSent([ids[3]!], at(5));
      expect((await store().listUnsentOutbox(100, ids[1]!)).map((r) => r.key)).toEqual([
        keys[2],
        keys[4],
        keys[5],
      ]);
      expect((await store().listUnsentOutbox(2, ids[0]!)).map((r) => r.key)).toEqual([keys[1], keys[2]]);
      expect(await store().listUnsentOutbox(100, ids[5]!)).toEqual([]);
      expect((await store().listUnsentOutbox(100, 0)).map((r) => r.key)).toEqual(
        keys.filter((_, i) => i !== 3),
      );
    });

    it('outbox ids keep increasing and pruneOutbox deletes only rows sent before the cutoff', async () => {
      await store().insertOutbox(Array.from({ length: 1500 }, () => makeOutbox(newId())));
      const all = await store().listUnsentOutbox(2000);
      expect(all).toHaveLength(1500);
      const allIds = all.map((r) => r.id!);
      await store().markOutboxSent(allIds.slice(0, 1000), at(1_000));
      await store().markOutboxSent(allIds.slice(1000, 1200), at(2_000));
      expect(await store().pruneOutbox(at(1_000))).toBe(0);
      expect(await store().pruneOutbox(at(1_001))).toBe(1000);
      expect(await store().pruneOutbox(at(1_001))).toBe(0);
      expect((await store().listUnsentOutbox(2000)).map((r) => r.id)).toEqual(allIds.slice(1200));
      expect(await store().pruneOutbox(at(10_000))).toBe(200);

      await store().insertOutbox([makeOutbox(newId())]);
      const [fresh] = await store()
        .listUnsentOutbox(1000)
        .then((rows) => rows.slice(-1));
      expect(fresh!.id!).toBeGreaterThan(allIds[allIds.length - 1]!);
    });
  });

  describe('workers', () => {
    const store = useStore(makeStore);

    it('upsertWorkers inserts new workers and replaces the heartbeat of known ones', async () => {
      const a = makeWorker({ id: 'worker-a' });
      const b = makeWorker({ id: 'worker-b', queues: ['default', 'gpü'], executors: [] });
      await store().upsertWorkers([a, b]);
      expect(await store().listWorkers()).toEqual([a, b]);
      const later = {
        ...a,
        host: 'host-b',
        pid: 99,
        executors: ['echo'],
        running: 5,
        version: '0.2.0',
        lastSeen: at(30_000),
        stoppedAt: at(31_000),
      };
      await store().upsertWorkers([later]);
      await store().upsertWorkers([]);
      expect(await store().listWorkers()).toEqual([later, b]);
    });
  });
}
