// Integration: the result consumer against the dev broker when the database fails mid-way.
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { randomName, startTestBroker } from '@taskwire/testkit';
import type { TestBroker } from '@taskwire/testkit';
import type { ResultMessage } from '@taskwire/contracts';
import { makeTask, makeTemplate } from '../store/contract/fixtures.js';
import type { Store } from '../store/types.js';
import { openSqliteDeps } from '../testing/sqlite-deps.js';
import type { SqliteDeps } from '../testing/sqlite-deps.js';
import { createResultConsumer } from './result-consumer.js';

let broker: TestBroker;
let opened: SqliteDeps;

beforeAll(async () => {
  broker = await startTestBroker();
  opened = await openSqliteDeps();
});
afterAll(async () => {
  await opened?.close();
  await broker?.stop();
});

it('commits no result offset while the database fails, then applies the result once it is back', async () => {
  const { store } = opened;
  const template = makeTemplate();
  const task = makeTask({
    templateId: template.id,
    status: 'RUNNING',
    workerId: 'w1',
    startedAt: new Date(),
  });
  await store.insertTemplate(template);
  await store.insertTasks([task]);

  // The first two units of work fail as if the database were unreachable.
  let failuresLeft = 2;
  const flaky: Store = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'unitOfWork') {
        return (fn: Parameters<Store['unitOfWork']>[0]) => {
          if (failuresLeft > 0) {
            failuresLeft--;
            return Promise.reject(new Error('connect ECONNREFUSED (simulated database outage)'));
          }
          return target.unitOfWork(fn);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });

  const kafka = new Kafka({ brokers: [broker.brokers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const resultTopic = randomName('results');
  const groupId = randomName('results-group');
  const consumer = createResultConsumer({
    domain: { ...opened.deps, store: flaky },
    kafka,
    producer,
    groupId,
    resultTopic,
    heartbeatTopic: randomName('heartbeats'),
    sessionTimeoutMs: 6_000,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await consumer.start();
    const result: ResultMessage = {
      v: 1,
      type: 'succeeded',
      task_id: task.id,
      attempt: 1,
      worker_id: 'w1',
      at: Date.now(),
      result: { ok: true },
    };
    await producer.send({ topic: resultTopic, messages: [{ key: task.id, value: JSON.stringify(result) }] });

    await vi.waitFor(
      async () => {
        expect(failuresLeft).toBe(0);
        expect(await store.getTask(task.id)).toMatchObject({ status: 'COMPLETED', result: { ok: true } });
      },
      { timeout: 45_000, interval: 100 },
    );
    // The offset past the result is committed only now that the write went through.
    await vi.waitFor(
      async () => {
        const [offsets] = await admin.fetchOffsets({ groupId, topics: [resultTopic] });
        const committed = offsets?.partitions.map((p) => Number(p.offset)).filter((o) => o >= 0) ?? [];
        expect(committed.reduce((a, b) => a + b, 0)).toBe(1);
      },
      { timeout: 15_000, interval: 100 },
    );
    const events = (await store.listEvents(task.id)).map((e) => e.type);
    expect(events.filter((t) => t === 'succeeded')).toHaveLength(1);
  } finally {
    await consumer.stop();
    await producer.disconnect();
    await admin.disconnect();
  }
});
