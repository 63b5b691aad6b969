// The manager's registry alone: bounded template labels, batched counts, and a lag read that cannot hang a scrape.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createManagerMetrics } from './manager-metrics.js';
import type { LagRow } from './manager-metrics.js';
import { OTHER_LABEL } from './label-cap.js';

const logger = pino({ level: 'silent' });

/** `name{labels} value` lines of the exposition, by the sample's text before the value. */
async function lines(metrics: ReturnType<typeof createManagerMetrics>): Promise<Map<string, number>> {
  const text = await metrics.render();
  return new Map(
    text
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => {
        const at = l.lastIndexOf(' ');
        return [l.slice(0, at), Number(l.slice(at + 1))] as const;
      }),
  );
}

describe('manager metrics', () => {
  it('counts a batch of created tasks per template and queue', async () => {
    const metrics = createManagerMetrics({ logger });
    metrics.tasksCreated([
      ...Array.from({ length: 999 }, () => ({ template: 'a', queue: 'default' })),
      { template: 'b', queue: 'emails' },
    ]);
    const got = await lines(metrics);
    expect(got.get('taskwire_tasks_created_total{template="a",queue="default"}')).toBe(999);
    expect(got.get('taskwire_tasks_created_total{template="b",queue="emails"}')).toBe(1);
  });

  it('gives the templates beyond the cap one "other" series', async () => {
    const metrics = createManagerMetrics({ logger, maxLabelValues: 3 });
    metrics.tasksCreated(['t1', 't2', 't3', 't4', 't5', 't1'].map((template) => ({ template, queue: 'q' })));
    metrics.runsEnded([
      { template: 't6', queue: 'q', status: 'COMPLETED', runMs: 5, queueWaitMs: 1 },
      { template: 't2', queue: 'q', status: 'RETRYING', runMs: 5, queueWaitMs: null },
    ]);
    const got = await lines(metrics);
    const created = [...got.keys()].filter((k) => k.startsWith('taskwire_tasks_created_total'));
    expect(created.sort()).toEqual([
      `taskwire_tasks_created_total{template="${OTHER_LABEL}",queue="q"}`,
      'taskwire_tasks_created_total{template="t1",queue="q"}',
      'taskwire_tasks_created_total{template="t2",queue="q"}',
      'taskwire_tasks_created_total{template="t3",queue="q"}',
    ]);
    expect(got.get(`taskwire_tasks_created_total{template="${OTHER_LABEL}",queue="q"}`)).toBe(2);
    // A run that goes on to retry is a run, not a finished task.
    expect(
      got.get(`taskwire_tasks_finished_total{template="${OTHER_LABEL}",queue="q",status="COMPLETED"}`),
    ).toBe(1);
    expect(
      [...got.keys()].filter(
        (k) => k.includes('status="RETRYING"') && k.startsWith('taskwire_tasks_finished'),
      ),
    ).toEqual([]);
    expect(got.get('taskwire_task_run_duration_seconds_count{queue="q",status="RETRYING"}')).toBe(1);
    expect(got.get('taskwire_task_queue_wait_seconds_count{queue="q"}')).toBe(1);
  });

  it('answers a scrape without lag series when the lag read hangs, and reuses a reading for the cache time', async () => {
    let clock = 0;
    let reads = 0;
    let answer: () => Promise<LagRow[]> = () => new Promise<LagRow[]>(() => {});
    const metrics = createManagerMetrics({ logger, lagTimeoutMs: 50, lagCacheMs: 5_000, now: () => clock });
    metrics.setSources({
      consumerLag: () => {
        reads++;
        return answer();
      },
    });
    const hung = await lines(metrics);
    expect([...hung.keys()].some((k) => k.startsWith('taskwire_worker_consumer_lag'))).toBe(false);

    // The hung read is still the one in flight: no second request piles up behind it.
    expect(reads).toBe(1);
    answer = async () => [{ queue: 'default', partition: 0, lag: 7 }];
    clock = 1; // the hung read never settles here (kafkajs' own request timeout ends it in life): a fresh registry
    const fresh = createManagerMetrics({ logger, lagCacheMs: 5_000, now: () => clock });
    fresh.setSources({
      consumerLag: () => {
        reads++;
        return answer();
      },
    });
    expect((await lines(fresh)).get('taskwire_worker_consumer_lag{queue="default",partition="0"}')).toBe(7);
    answer = async () => [{ queue: 'default', partition: 0, lag: 3 }];
    clock = 5_000; // read at 1: still fresh
    expect((await lines(fresh)).get('taskwire_worker_consumer_lag{queue="default",partition="0"}')).toBe(7);
    clock = 5_001;
    expect((await lines(fresh)).get('taskwire_worker_consumer_lag{queue="default",partition="0"}')).toBe(3);
    expect(reads).toBe(3);
  });

  it('leaves lag series out when the read fails', async () => {
    const metrics = createManagerMetrics({ logger });
    metrics.setSources({ consumerLag: () => Promise.reject(new Error('broker down')) });
    const got = await lines(metrics);
    expect([...got.keys()].some((k) => k.startsWith('taskwire_worker_consumer_lag'))).toBe(false);
  });
});
