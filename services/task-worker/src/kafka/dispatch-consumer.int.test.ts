// Integration: a dispatch redelivered while its run is in progress, on the dev broker through unmodified kafkajs.
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type { Consumer } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DispatchMessage } from '@taskwire/contracts';
import { builtinExecutors } from '@taskwire/executors';
import { SchemaCompiler } from '@taskwire/json-schema';
import { connectKafkaClients, randomName, startTestBroker } from '@taskwire/testkit';
import type { KafkaClients, TestBroker } from '@taskwire/testkit';
import { buildRegistry } from '../registry/index.js';
import { RunningTasks, runTask, TaskAbort } from '../runner/index.js';
import { BatchingProducer } from './batching-producer.js';
import { DispatchConsumer } from './dispatch-consumer.js';
import { KafkaSupervisor } from './supervisor.js';
import { testDispatch } from '../testing/dispatch.js';

let broker: TestBroker;
let clients: KafkaClients;
let cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  broker = await startTestBroker();
  clients = await connectKafkaClients(broker.brokers, 'dispatch-consumer-int-test');
});

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups = [];
});

afterAll(async () => {
  await clients?.disconnect();
  await broker?.stop();
});

const logger = pino({ level: 'silent' });
const registry = buildRegistry([{ plugin: '@taskwire/executors', value: builtinExecutors }], {
  allowShell: false,
});

/**
 * A dispatch consumer wired as the worker wires it (runTask publishing through a BatchingProducer,
 * a KafkaSupervisor reconnecting it when lost) on a fresh one-partition topic and group.
 * `launched` lists the dispatches handed to runTask. The worker's client id sorts after 'a', so a
 * member named 'a-…' joining its group takes the one partition (kafkajs' round robin assigns by
 * sorted member id, and member ids start with the client id).
 */
async function workerOnFreshTopic() {
  const topic = randomName('dispatch');
  const results = randomName('results');
  const group = randomName('workers');
  await clients.admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic, numPartitions: 1 },
      { topic: results, numPartitions: 1 },
    ],
  });
  const kafka = new Kafka({ clientId: 'w-worker', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  const out = new BatchingProducer(producer, logger);
  cleanups.push(async () => out.close());
  const running = new RunningTasks();
  const deps = {
    workerId: 'w-worker',
    registry,
    running,
    schemas: new SchemaCompiler(),
    logger,
    publish: (taskId: string, value: string) => out.send(results, { key: taskId, value }),
  };
  const launched: string[] = [];
  const consumer: DispatchConsumer = new DispatchConsumer({
    kafka,
    groupId: group,
    topics: [topic],
    // Room for the redelivered copy and the task behind it while the first run holds a slot.
    concurrency: 4,
    sessionTimeoutMs: 6000,
    producer: out,
    logger,
    onLost: (err) => supervisor.lost(err),
    run: (message, executed) => {
      launched.push(message.task_id);
      return runTask(message, deps, executed);
    },
  });
  const supervisor = new KafkaSupervisor({
    logger,
    minDelayMs: 50,
    maxDelayMs: 200,
    connect: () => consumer.start(),
    teardown: () => consumer.disconnect(),
  });
  cleanups.push(() => consumer.disconnect());
  cleanups.push(() => supervisor.stop());
  await supervisor.start();

  const send = (m: DispatchMessage) =>
    clients.producer.send({ topic, acks: -1, messages: [{ key: m.task_id, value: JSON.stringify(m) }] });
  const committed = async (): Promise<number> => {
    const [res] = await clients.admin.fetchOffsets({ groupId: group, topics: [topic] });
    return Math.max(0, Number(res?.partitions[0]?.offset ?? -1));
  };
  /** A plain kafkajs member of the group that takes the partition and neither runs nor commits. */
  const joinOtherMember = async (): Promise<Consumer> => {
    const other = clients.kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500 });
    cleanups.push(() => other.disconnect());
    let assigned = false;
    other.on(other.events.GROUP_JOIN, (e) => {
      assigned = (e.payload.memberAssignment[topic] ?? []).includes(0);
    });
    await other.connect();
    await other.subscribe({ topics: [topic], fromBeginning: true });
    await other.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
    await vi.waitFor(() => expect(assigned).toBe(true), { timeout: 20_000 });
    return other;
  };
  return { consumer, supervisor, running, launched, send, committed, joinOtherMember };
}

type WorkerUnderTest = Awaited<ReturnType<typeof workerOnFreshTopic>>;

/**
 * The two ways the worker's consumer gets a dispatch again while its run goes on, each time into a
 * new offset tracker: the partition goes to another member and comes back (a rebalance), or the
 * consumer crashed and the supervisor reconnects it (its trackers are dropped at teardown). Kafka
 * hands over the uncommitted dispatch again from its offset.
 */
const redeliveries: Record<string, (w: WorkerUnderTest) => Promise<void>> = {
  'after a rebalance': async (w) => {
    const other = await w.joinOtherMember();
    await other.disconnect();
  },
  'after a reconnect': async (w) => {
    w.supervisor.lost(new Error('the dispatch consumer crashed'));
    await w.supervisor.whenReady();
  },
};

/**
 * Starts a long sleep, has it delivered again while it runs, and waits until the copy has been
 * handed over: an echo dispatched behind it is launched after it (a partition arrives in order).
 */
async function copyJoinsRunInProgress(redeliver: (w: WorkerUnderTest) => Promise<void>) {
  const w = await workerOnFreshTopic();
  const long = testDispatch({ executor: 'sleep', params: { ms: 600_000 } });
  await w.send(long);
  await vi.waitFor(() => expect(w.running.size).toBe(1), { timeout: 20_000 });
  await redeliver(w);
  const behind = testDispatch({ params: { n: 1 } });
  await w.send(behind);
  await vi.waitFor(() => expect(w.launched).toContain(behind.task_id), { timeout: 20_000 });
  // The copy joined the run instead of running the task twice.
  expect(w.launched).toEqual([long.task_id, behind.task_id]);
  expect(w.running.size).toBe(1);
  return { ...w, long };
}

/** What the worker's stop() does once its tasks have settled: commit every finished prefix. */
async function commitOnceSettled(consumer: DispatchConsumer): Promise<void> {
  expect(await consumer.waitIdle(20_000)).toBe(true);
  // The copy learns the run's outcome one reaction after the run settles, and waitIdle resolves
  // from inside that settling: let the reactions run first.
  await new Promise((resolve) => setImmediate(resolve));
  await consumer.commit();
}

describe.each(Object.entries(redeliveries))(
  'a dispatch redelivered %s while its run goes on',
  (_, redeliver) => {
    it('a redelivered copy of a run abandoned at shutdown does not mark its offset finished', async () => {
      const { consumer, running, committed } = await copyJoinsRunInProgress(redeliver);
      // The shutdown grace period is over: the run is abandoned and publishes no result.
      running.abortAll(new TaskAbort('shutdown', 'the worker is shutting down'));
      await commitOnceSettled(consumer);
      // Offset 0 stays uncommitted, so the task goes to the next member; committing past it loses it.
      expect(await committed()).toBe(0);
    });

    it('a redelivered copy of a run that publishes its result has its offset committed with it', async () => {
      const { consumer, running, committed, long } = await copyJoinsRunInProgress(redeliver);
      // Canceled: a terminal result is published, and it covers the copy's offset too.
      expect(running.cancel(long.task_id, long.attempt, Date.now())).toBe(1);
      await commitOnceSettled(consumer);
      expect(await committed()).toBe(2);
    });
  },
);
