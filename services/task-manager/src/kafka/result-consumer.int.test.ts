// Integration: the result consumer against the dev broker: database outages, poison messages and the DLQ.
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { randomName } from '@taskwire/testkit';
import { DLQ_HEADERS, dlqTopicFor } from '@taskwire/contracts';
import type { HeartbeatMessage, ResultMessage } from '@taskwire/contracts';
import { makeTask, makeTemplate } from '../store/contract/fixtures.js';
import type { Store, StoreOps, TaskRecord } from '../store/types.js';
import { useCleanups, useKafkaBed } from '../testing/kafka.js';
import { openSqliteDeps } from '../testing/sqlite-deps.js';
import { resultFor } from '../testing/seed.js';
import type { SqliteDeps } from '../testing/sqlite-deps.js';
import { createResultConsumer } from './result-consumer.js';

const WAIT = { timeout: 45_000, interval: 100 };

const bed = useKafkaBed();
const cleanups = useCleanups();
let opened: SqliteDeps;
beforeAll(async () => {
  opened = await openSqliteDeps();
});
afterAll(async () => {
  await opened?.close();
});

/** A store whose unit-of-work ops go through `wrapTx`, and whose other ops through `wrap`. */
function wrapStore(
  store: Store,
  opts: {
    unitOfWork?: Store['unitOfWork'];
    upsertWorkers?: Store['upsertWorkers'];
    /** Overrides of the unit of work's own ops, given the real ones. */
    tx?: (tx: StoreOps) => Partial<StoreOps>;
  },
): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'unitOfWork' && opts.unitOfWork) return opts.unitOfWork;
      if (prop === 'unitOfWork' && opts.tx) {
        return <T>(fn: (tx: StoreOps) => Promise<T>) =>
          target.unitOfWork((tx) => {
            const overrides = opts.tx!(tx) as Record<string | symbol, unknown>;
            return fn(new Proxy(tx, { get: (t, p) => overrides[p] ?? Reflect.get(t, p) }));
          });
      }
      if (prop === 'upsertWorkers' && opts.upsertWorkers) return opts.upsertWorkers;
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Topics with one partition each, so that poison and good messages share a partition. */
async function topics() {
  const resultTopic = randomName('results');
  const heartbeatTopic = randomName('heartbeats');
  await bed.admin.createTopics({
    waitForLeaders: true,
    topics: [resultTopic, heartbeatTopic, dlqTopicFor(resultTopic), dlqTopicFor(heartbeatTopic)].map(
      (topic) => ({ topic, numPartitions: 1 }),
    ),
  });
  return { resultTopic, heartbeatTopic };
}

async function startConsumer(
  store: Store,
  resultTopic: string,
  heartbeatTopic: string,
  opts: { groupId?: string; commitIntervalMs?: number; lingerMs?: number; kafka?: Kafka } = {},
) {
  const groupId = opts.groupId ?? randomName('results-group');
  const consumer = createResultConsumer({
    domain: { ...opened.deps, store },
    kafka: opts.kafka ?? bed.kafka,
    producer: bed.producer,
    groupId,
    resultTopic,
    heartbeatTopic,
    sessionTimeoutMs: 6_000,
    ...(opts.commitIntervalMs !== undefined ? { commitIntervalMs: opts.commitIntervalMs } : {}),
    ...(opts.lingerMs !== undefined ? { lingerMs: opts.lingerMs } : {}),
  });
  cleanups.push(() => consumer.stop());
  await consumer.start();
  return { groupId, consumer };
}

async function runningTask(): Promise<TaskRecord> {
  const template = makeTemplate();
  const task = makeTask({
    templateId: template.id,
    status: 'RUNNING',
    workerId: 'w1',
    startedAt: new Date(),
  });
  await opened.store.insertTemplate(template);
  await opened.store.insertTasks([task]);
  return task;
}

function succeeded(task: TaskRecord, overrides: Partial<ResultMessage> = {}): ResultMessage {
  return resultFor(task, Date.now(), { result: { ok: true }, ...overrides });
}

function heartbeat(workerId: string, overrides: Partial<HeartbeatMessage> = {}): HeartbeatMessage {
  return {
    v: 1,
    worker_id: workerId,
    host: 'h',
    pid: 1,
    queues: ['default'],
    executors: ['echo'],
    concurrency: 4,
    running: 0,
    version: '1.0.0',
    started_at: Date.now(),
    at: Date.now(),
    ...overrides,
  };
}

async function send(topic: string, values: Array<{ key: string; value: unknown }>): Promise<void> {
  await bed.producer.send({
    topic,
    messages: values.map((m) => ({ key: m.key, value: JSON.stringify(m.value), partition: 0 })),
  });
}

/** Sum of the group's committed offsets on `topic`. */
async function committed(groupId: string, topic: string): Promise<number> {
  const [offsets] = await bed.admin.fetchOffsets({ groupId, topics: [topic] });
  return (offsets?.partitions ?? [])
    .map((p) => Number(p.offset))
    .filter((o) => o >= 0)
    .reduce((a, b) => a + b, 0);
}

/** Every message on `topic` so far, read from the beginning. */
async function readAll(topic: string): Promise<KafkaMessage[]> {
  const offsets = await bed.admin.fetchTopicOffsets(topic);
  const total = offsets.reduce((n, p) => n + Number(p.high), 0);
  if (total === 0) return [];
  const seen: KafkaMessage[] = [];
  const consumer = bed.kafka.consumer({ groupId: randomName('dlq-reader'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message) });
    await vi.waitFor(() => expect(seen.length).toBe(total), WAIT);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

it('commits no result offset while the database fails, dead-letters nothing, then applies the result once it is back', async () => {
  const { store } = opened;
  const task = await runningTask();
  const { resultTopic, heartbeatTopic } = await topics();
  // More failed units of work than the poison limit: an outage must never count as poison.
  let failuresLeft = 5;
  const flaky = wrapStore(store, {
    unitOfWork: (fn) => {
      if (failuresLeft > 0) {
        failuresLeft--;
        return Promise.reject(new Error('connect ECONNREFUSED (simulated database outage)'));
      }
      return store.unitOfWork(fn);
    },
  });
  const { groupId } = await startConsumer(flaky, resultTopic, heartbeatTopic);
  await send(resultTopic, [{ key: task.id, value: succeeded(task) }]);

  await vi.waitFor(async () => {
    expect(failuresLeft).toBe(0);
    expect(await store.getTask(task.id)).toMatchObject({ status: 'COMPLETED', result: { ok: true } });
  }, WAIT);
  // The offset past the result is committed only now that the write went through.
  await vi.waitFor(async () => expect(await committed(groupId, resultTopic)).toBe(1), WAIT);
  const events = (await store.listEvents(task.id)).map((e) => e.type);
  expect(events.filter((t) => t === 'succeeded')).toHaveLength(1);
  expect(await readAll(dlqTopicFor(resultTopic))).toEqual([]);
});

it('a result with an impossible time (at: 1e17) goes to the DLQ and the next result of its partition applies', async () => {
  const { store } = opened;
  const [poisoned, next] = [await runningTask(), await runningTask()];
  const { resultTopic, heartbeatTopic } = await topics();
  const { groupId } = await startConsumer(store, resultTopic, heartbeatTopic);
  await send(resultTopic, [
    { key: poisoned.id, value: succeeded(poisoned, { at: 1e17 }) },
    { key: next.id, value: succeeded(next) },
  ]);

  await vi.waitFor(
    async () => expect(await store.getTask(next.id)).toMatchObject({ status: 'COMPLETED' }),
    WAIT,
  );
  await vi.waitFor(async () => expect(await committed(groupId, resultTopic)).toBe(2), WAIT);
  expect(await store.getTask(poisoned.id)).toMatchObject({ status: 'RUNNING' });
  const [dead, ...more] = await readAll(dlqTopicFor(resultTopic));
  expect(more).toEqual([]);
  expect(dead!.key?.toString()).toBe(poisoned.id);
  expect(String(dead!.headers?.[DLQ_HEADERS.reason])).toMatch(/\/at must be <= 253402300799999/);
  expect(String(dead!.headers?.[DLQ_HEADERS.topic])).toBe(resultTopic);
  expect(String(dead!.headers?.[DLQ_HEADERS.offset])).toBe('0');
});

it('a valid result that cannot be applied after 3 tries goes to the DLQ, and the rest of its fetch applies', async () => {
  const { store } = opened;
  const [poisoned, before, after] = [await runningTask(), await runningTask(), await runningTask()];
  const { resultTopic, heartbeatTopic } = await topics();
  let poisonTries = 0;
  // The database refuses to store this one task's update; everything else about it is healthy.
  const picky = wrapStore(store, {
    tx: (tx) => ({
      updateTasks: async (updates) => {
        if (updates.some((u) => u.id === poisoned.id)) {
          poisonTries++;
          throw new Error('CHECK constraint failed: tasks (simulated unstorable value)');
        }
        return tx.updateTasks(updates);
      },
    }),
  });
  const { groupId } = await startConsumer(picky, resultTopic, heartbeatTopic);
  await send(resultTopic, [
    { key: before.id, value: succeeded(before) },
    { key: poisoned.id, value: succeeded(poisoned) },
    { key: after.id, value: succeeded(after) },
  ]);

  await vi.waitFor(async () => expect(await committed(groupId, resultTopic)).toBe(3), WAIT);
  expect(await store.getTask(before.id)).toMatchObject({ status: 'COMPLETED' });
  expect(await store.getTask(after.id)).toMatchObject({ status: 'COMPLETED' });
  expect(await store.getTask(poisoned.id)).toMatchObject({ status: 'RUNNING' });
  // The failed batch once, then the message alone three times.
  expect(poisonTries).toBe(4);
  const dead = await readAll(dlqTopicFor(resultTopic));
  expect(dead.map((m) => m.key?.toString())).toEqual([poisoned.id]);
  expect(String(dead[0]!.headers?.[DLQ_HEADERS.reason])).toMatch(
    /^result message could not be applied after 3 tries: CHECK constraint failed/,
  );
});

it('a heartbeat with an impossible time goes to the DLQ and the next heartbeat of its partition applies', async () => {
  const { store } = opened;
  const { resultTopic, heartbeatTopic } = await topics();
  const { groupId } = await startConsumer(store, resultTopic, heartbeatTopic);
  const [bad, good] = [randomName('bad-worker'), randomName('good-worker')];
  await send(heartbeatTopic, [
    { key: bad, value: heartbeat(bad, { at: 1e17 }) },
    { key: good, value: heartbeat(good) },
  ]);

  await vi.waitFor(async () => expect(await committed(groupId, heartbeatTopic)).toBe(2), WAIT);
  const workers = (await store.listWorkers()).map((w) => w.id);
  expect(workers).toContain(good);
  expect(workers).not.toContain(bad);
  const dead = await readAll(dlqTopicFor(heartbeatTopic));
  expect(dead.map((m) => m.key?.toString())).toEqual([bad]);
  expect(String(dead[0]!.headers?.[DLQ_HEADERS.reason])).toMatch(/^heartbeat message: \/at must be <=/);
});

it('a valid heartbeat that cannot be stored after 3 tries goes to the DLQ; other workers are recorded', async () => {
  const { store } = opened;
  const { resultTopic, heartbeatTopic } = await topics();
  const [bad, good] = [randomName('bad-worker'), randomName('good-worker')];
  const picky = wrapStore(store, {
    upsertWorkers: async (records) => {
      if (records.some((r) => r.id === bad)) throw new Error('Data too long for column (simulated)');
      return store.upsertWorkers(records);
    },
  });
  const { groupId } = await startConsumer(picky, resultTopic, heartbeatTopic);
  await send(heartbeatTopic, [
    { key: bad, value: heartbeat(bad) },
    { key: good, value: heartbeat(good) },
  ]);

  await vi.waitFor(async () => expect(await committed(groupId, heartbeatTopic)).toBe(2), WAIT);
  expect((await store.listWorkers()).map((w) => w.id)).toContain(good);
  const dead = await readAll(dlqTopicFor(heartbeatTopic));
  expect(dead.map((m) => m.key?.toString())).toEqual([bad]);
  expect(String(dead[0]!.headers?.[DLQ_HEADERS.reason])).toMatch(
    /^heartbeat message could not be applied after 3 tries: Data too long/,
  );
});

it('a manager killed between interval commits loses no result: the next one re-applies it, idempotently', async () => {
  const { store } = opened;
  const [first, second] = [await runningTask(), await runningTask()];
  const { resultTopic, heartbeatTopic } = await topics();
  const groupId = randomName('results-group');
  // Manager A: its offset commits never reach the broker, as if it were killed before each one.
  const attempted: unknown[] = [];
  const dying = new Proxy(bed.kafka, {
    get(target, prop) {
      if (prop !== 'consumer') return Reflect.get(target, prop);
      return (config: Parameters<Kafka['consumer']>[0]): Consumer => {
        const c = target.consumer(config);
        c.commitOffsets = (offsets) => (attempted.push(...offsets), Promise.resolve());
        return c;
      };
    },
  });
  const a = await startConsumer(store, resultTopic, heartbeatTopic, {
    groupId,
    commitIntervalMs: 50,
    kafka: dying,
  });
  await send(resultTopic, [{ key: first.id, value: succeeded(first) }]);
  await vi.waitFor(
    async () => expect(await store.getTask(first.id)).toMatchObject({ status: 'COMPLETED' }),
    WAIT,
  );
  // A applied the result and would have committed past it; the broker has nothing committed.
  await vi.waitFor(
    () => expect(attempted).toContainEqual({ topic: resultTopic, partition: 0, offset: '1' }),
    WAIT,
  );
  expect(await committed(groupId, resultTopic)).toBe(0);
  await a.consumer.stop();

  // Manager B, same group: reads from the last commit, so the first result comes again.
  await send(resultTopic, [{ key: second.id, value: succeeded(second) }]);
  await startConsumer(store, resultTopic, heartbeatTopic, { groupId, commitIntervalMs: 50 });
  await vi.waitFor(
    async () => expect(await store.getTask(second.id)).toMatchObject({ status: 'COMPLETED' }),
    WAIT,
  );
  await vi.waitFor(async () => expect(await committed(groupId, resultTopic)).toBe(2), WAIT);
  // Re-applied, it changed nothing: one success, the task as A left it.
  const events = (await store.listEvents(first.id)).map((e) => e.type);
  expect(events.filter((t) => t === 'succeeded')).toHaveLength(1);
  expect(await store.getTask(first.id)).toMatchObject({ status: 'COMPLETED', result: { ok: true } });
});

it('commits applied results on the interval, never before they are in the DB', async () => {
  const { store } = opened;
  const tasks = await Promise.all(Array.from({ length: 5 }, () => runningTask()));
  const { resultTopic, heartbeatTopic } = await topics();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const held = wrapStore(store, { unitOfWork: async (fn) => (await gate, store.unitOfWork(fn)) });
  const { groupId } = await startConsumer(held, resultTopic, heartbeatTopic, { commitIntervalMs: 50 });
  for (const t of tasks) await send(resultTopic, [{ key: t.id, value: succeeded(t) }]);
  // Several intervals pass while the writes are held: nothing may be committed.
  await new Promise((r) => setTimeout(r, 300));
  expect(await committed(groupId, resultTopic)).toBe(0);
  release();
  await vi.waitFor(async () => expect(await committed(groupId, resultTopic)).toBe(5), WAIT);
  for (const t of tasks) expect(await store.getTask(t.id)).toMatchObject({ status: 'COMPLETED' });
});

it('results arriving while the consumer lingers after an apply are applied together, in one unit of work', async () => {
  const { store } = opened;
  const [first, ...later] = await Promise.all(Array.from({ length: 4 }, () => runningTask()));
  const { resultTopic, heartbeatTopic } = await topics();
  let units = 0;
  const counted = wrapStore(store, { unitOfWork: (fn) => (units++, store.unitOfWork(fn)) });
  await startConsumer(counted, resultTopic, heartbeatTopic, { lingerMs: 3_000 });
  // The first result reaches an idle consumer: applied at once, alone.
  await send(resultTopic, [{ key: first!.id, value: succeeded(first!) }]);
  await vi.waitFor(async () => expect((await store.getTask(first!.id))?.status).toBe('COMPLETED'), WAIT);
  for (const t of later) await send(resultTopic, [{ key: t.id, value: succeeded(t) }]);
  await vi.waitFor(async () => {
    for (const t of later) expect((await store.getTask(t.id))?.status).toBe('COMPLETED');
  }, WAIT);
  expect(units).toBe(2);
});
