// Integration: a dispatch deleted by Kafka retention before any worker read it is sent again (SQLite and MariaDB, dev broker).
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { randomName } from '@taskwire/testkit';
import { systemClock } from '../domain/clock.js';
import { noSignals } from '../domain/deps.js';
import type { DomainDeps } from '../domain/deps.js';
import { createTasks } from '../domain/tasks.js';
import { makeTemplate } from '../store/contract/fixtures.js';
import type { Store } from '../store/index.js';
import { useCleanups, useKafkaBed } from '../testing/kafka.js';
import { DIALECTS, openTestStore } from '../testing/stores.js';
import type { Dialect } from '../testing/stores.js';
import { createRelay } from './relay.js';
import { createRetentionSweep } from './retention-sweep.js';

const logger = pino({ level: 'silent' });
const WAIT = { timeout: 30_000, interval: 50 };

// Small segments on the dev broker: retention drops whole segments, so a few KB of messages move the log start.
const bed = useKafkaBed({ dev: { segmentBytes: 1024 } });
const cleanups = useCleanups();

/**
 * Moves partition 0's log start past everything in it, as retention would. The dev broker: more
 * traffic rolls its 1 KB segments and retention.bytes=1 deletes the old ones. Real Kafka checks
 * retention only every 5 minutes (../shared/kafka), so there the test uses DeleteRecords, which the
 * dev broker does not implement.
 */
async function dropOldRecords(topic: string): Promise<void> {
  for (let i = 0; i < 8; i++) {
    await bed.producer.send({
      topic,
      messages: [{ key: `filler-${i}`, value: 'f'.repeat(600), partition: 0 }],
    });
  }
  if (bed.broker.kind === 'kafka') {
    const [p] = await bed.admin.fetchTopicOffsets(topic);
    await bed.admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: p!.high }] });
  }
}

/** A store on a new database of `dialect`, removed after the test. */
async function openStore(dialect: Dialect): Promise<Store> {
  const { store, cleanup } = await openTestStore(dialect);
  cleanups.push(cleanup);
  return store;
}

describe.each(DIALECTS)('retention re-dispatch on %s', (dialect) => {
  it('a QUEUED task whose dispatch fell below the log start is dispatched again with the same attempt; others are left alone', async () => {
    const store = await openStore(dialect);
    await store.migrate();
    const dispatchTopic = randomName('dispatch');
    // One partition that keeps about nothing but its active segment.
    await bed.admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: dispatchTopic, numPartitions: 1, configEntries: [{ name: 'retention.bytes', value: '1' }] },
      ],
    });
    const deps: DomainDeps = {
      store,
      clock: systemClock,
      logger,
      settings: { dispatchTopic, controlTopic: randomName('control') },
      signals: noSignals,
    };
    const relay = createRelay({
      store,
      producer: bed.producer,
      logger,
      clock: systemClock,
      owner: randomName('relay'),
      idleMs: 50,
      dispatchTopic,
      partitionCount: async () => 1,
    });
    cleanups.push(() => relay.stop());
    await relay.start();
    const template = makeTemplate({ createdAt: new Date(), updatedAt: new Date() });
    await store.insertTemplate(template);
    const create = async (): Promise<string> => {
      const [r] = await createTasks(deps, [{ templateId: template.id, params: { n: 1 } }]);
      if (!r?.ok) throw r?.error;
      relay.wake();
      return r.value.task.id;
    };

    const lost = await create();
    await vi.waitFor(
      async () =>
        expect(await store.getTask(lost)).toMatchObject({ dispatchPartition: 0, dispatchOffset: 0 }),
      WAIT,
    );

    await dropOldRecords(dispatchTopic);
    const low = async () => Number((await bed.admin.fetchTopicOffsets(dispatchTopic))[0]!.low);
    await vi.waitFor(async () => expect(await low()).toBeGreaterThan(0), WAIT);
    const kept = await create();
    await vi.waitFor(
      async () => expect((await store.getTask(kept))?.dispatchOffset).toBeGreaterThanOrEqual(await low()),
      WAIT,
    );

    const sweep = createRetentionSweep({ domain: deps, admin: bed.admin, minAgeMs: 0 });
    expect(await sweep.runOnce()).toBe(1);
    const queued = (await store.listEvents(lost)).filter((e) => e.type === 'queued');
    expect(queued).toHaveLength(2);
    expect(queued[1]).toMatchObject({
      attempt: 1,
      data: { redispatched: 'retention', lost_partition: 0, lost_offset: 0 },
    });
    expect((await store.listEvents(kept)).filter((e) => e.type === 'queued')).toHaveLength(1);

    // Sent again: its new offset is in the log, so the next sweep leaves it alone.
    await vi.waitFor(async () => {
      const task = await store.getTask(lost);
      expect(task).toMatchObject({ status: 'QUEUED', attempt: 1 });
      expect(task?.dispatchOffset).toBeGreaterThanOrEqual(await low());
    }, WAIT);
    expect(await sweep.runOnce()).toBe(0);
  });
});
