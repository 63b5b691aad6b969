// Store contract: the dashboard's reads — counts by queue and status, finished per minute, the queue filter.
import { describe, expect, it } from 'vitest';
import type { MakeStore } from './harness.js';
import { useStore } from './harness.js';
import { at, makeTask } from './fixtures.js';

export function dashboardContract(makeStore: MakeStore): void {
  describe('dashboard reads', () => {
    const store = useStore(makeStore, 'each');

    it('taskStats counts every task by queue and status, and nothing for an empty table', async () => {
      expect(await store().taskStats(at(0))).toEqual({ byQueueStatus: [], finishedPerMinute: [] });
      await store().insertTasks([
        makeTask({ queue: 'a', status: 'QUEUED' }),
        makeTask({ queue: 'a', status: 'QUEUED' }),
        makeTask({ queue: 'a', status: 'RUNNING' }),
        makeTask({ queue: 'b', status: 'QUEUED' }),
        makeTask({ queue: 'b', status: 'CANCELED' }),
      ]);
      const { byQueueStatus } = await store().taskStats(at(0));
      const sorted = [...byQueueStatus].sort((x, y) =>
        `${x.queue}/${x.status}` < `${y.queue}/${y.status}` ? -1 : 1,
      );
      expect(sorted).toEqual([
        { queue: 'a', status: 'QUEUED', n: 2 },
        { queue: 'a', status: 'RUNNING', n: 1 },
        { queue: 'b', status: 'CANCELED', n: 1 },
        { queue: 'b', status: 'QUEUED', n: 1 },
      ]);
    });

    it('taskStats buckets COMPLETED and FAILED tasks finished since `since` by minute, and only those', async () => {
      const base = Math.floor(at(60 * 60_000).getTime() / 60_000) * 60_000; // a minute boundary
      const since = new Date(base);
      const t = (ms: number) => new Date(base + ms);
      await store().insertTasks([
        makeTask({ status: 'COMPLETED', finishedAt: t(0) }), // minute 0, first ms
        makeTask({ status: 'COMPLETED', finishedAt: t(59_999) }), // minute 0, last ms
        makeTask({ status: 'FAILED', finishedAt: t(30_000) }), // minute 0
        makeTask({ status: 'COMPLETED', finishedAt: t(120_001) }), // minute 2
        makeTask({ status: 'COMPLETED', finishedAt: t(-1) }), // before `since`
        makeTask({ status: 'TIMED_OUT', finishedAt: t(60_000) }), // neither COMPLETED nor FAILED
        makeTask({ status: 'CANCELED', finishedAt: t(60_000) }),
        makeTask({ status: 'RUNNING', finishedAt: null }),
      ]);
      const { finishedPerMinute } = await store().taskStats(since);
      const key = (r: { minute: number; status: string }) => `${r.minute}/${r.status}`;
      expect([...finishedPerMinute].sort((x, y) => (key(x) < key(y) ? -1 : 1))).toEqual([
        { minute: since.getTime(), status: 'COMPLETED', n: 2 },
        { minute: since.getTime(), status: 'FAILED', n: 1 },
        { minute: since.getTime() + 120_000, status: 'COMPLETED', n: 1 },
      ]);
    });

    it('listTasks filters by queue, newest first, alone and with the other filters', async () => {
      const a1 = makeTask({ queue: 'a', status: 'QUEUED' });
      const b1 = makeTask({ queue: 'b', status: 'QUEUED' });
      const a2 = makeTask({ queue: 'a', status: 'COMPLETED' });
      await store().insertTasks([a1, b1, a2]);
      expect((await store().listTasks({ queue: 'a', limit: 10 })).map((t) => t.id)).toEqual([a2.id, a1.id]);
      expect(
        (await store().listTasks({ queue: 'a', status: ['QUEUED'], limit: 10 })).map((t) => t.id),
      ).toEqual([a1.id]);
      expect(await store().listTasks({ queue: 'none', limit: 10 })).toEqual([]);
      expect((await store().listTasks({ queue: 'a', beforeId: a2.id, limit: 10 })).map((t) => t.id)).toEqual([
        a1.id,
      ]);
    });
  });
}
