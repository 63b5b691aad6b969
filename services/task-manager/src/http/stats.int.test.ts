// GET /stats/overview over app.request() on a real SQLite file with a fixed clock: counts by queue
// and status, the 60 one-minute buckets ending with the current minute, workers alive and dead,
// the outbox backlog, and the consumer lag summed per queue (null without Kafka).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTask, makeWorker } from '../store/contract/fixtures.js';
import { openSqliteDeps } from '../testing/sqlite-deps.js';
import type { SqliteDeps } from '../testing/sqlite-deps.js';
import type { Overview } from '@taskwire/contracts';
import { createApp } from './app.js';

const NOW = new Date('2031-05-06T07:08:30.000Z'); // 30 s into its minute
const minute = (back: number, plusMs = 0) => new Date(Date.UTC(2031, 4, 6, 7, 8) - back * 60_000 + plusMs);

let fixture: SqliteDeps;
beforeAll(async () => {
  fixture = await openSqliteDeps({ clock: { now: () => NOW } });
  await fixture.store.insertTasks([
    makeTask({ queue: 'default', status: 'COMPLETED', finishedAt: minute(0, 1_000) }), // current minute
    makeTask({ queue: 'default', status: 'COMPLETED', finishedAt: minute(59) }), // oldest bucket
    makeTask({ queue: 'images', status: 'FAILED', finishedAt: minute(59, 59_999) }),
    makeTask({ queue: 'images', status: 'COMPLETED', finishedAt: minute(60, 59_999) }), // just before the window
    makeTask({ queue: 'images', status: 'QUEUED', finishedAt: null }),
  ]);
  await fixture.store.upsertWorkers([
    makeWorker({ id: 'w-alive', lastSeen: new Date(NOW.getTime() - 1_000) }),
    makeWorker({ id: 'w-silent', lastSeen: new Date(NOW.getTime() - 60_000) }),
    makeWorker({ id: 'w-stopped', lastSeen: NOW, stoppedAt: NOW }),
  ]);
  await fixture.store.insertOutbox([{ topic: 't', key: 'k', payload: '{}', createdAt: NOW }]);
});
afterAll(() => fixture.close());

describe('GET /stats/overview', () => {
  it('counts by queue and status, 60 minute buckets ending now, workers, backlog; no lag without Kafka', async () => {
    const res = await createApp(fixture.deps).request('/stats/overview');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Overview;
    expect(body.at).toBe(NOW.toISOString());
    expect(body.counts).toEqual(
      expect.arrayContaining([
        { queue: 'default', status: 'COMPLETED', count: 2 },
        { queue: 'images', status: 'COMPLETED', count: 1 },
        { queue: 'images', status: 'FAILED', count: 1 },
        { queue: 'images', status: 'QUEUED', count: 1 },
      ]),
    );
    expect(body.counts).toHaveLength(4);
    expect(body.per_minute).toHaveLength(60);
    expect(body.per_minute[0]).toEqual({ minute: minute(59).toISOString(), completed: 1, failed: 1 });
    expect(body.per_minute[59]).toEqual({ minute: minute(0).toISOString(), completed: 1, failed: 0 });
    const total = body.per_minute.reduce(
      (n: number, m: { completed: number; failed: number }) => n + m.completed + m.failed,
      0,
    );
    expect(total).toBe(3);
    expect(body.workers).toEqual({ alive: 1, dead: 2 });
    expect(body.outbox_backlog).toBe(1);
    expect(body.consumer_lag).toBeNull();
  });

  it('sums the consumer lag of each queue over its partitions, queues in order', async () => {
    const app = createApp({
      ...fixture.deps,
      consumerLag: async () => [
        { queue: 'images', partition: 0, lag: 3 },
        { queue: 'default', partition: 1, lag: 2 },
        { queue: 'images', partition: 1, lag: 4 },
      ],
    });
    const body = (await (await app.request('/stats/overview')).json()) as Overview;
    expect(body.consumer_lag).toEqual([
      { queue: 'default', lag: 2 },
      { queue: 'images', lag: 7 },
    ]);
  });
});
