// Integration: the worker's consumers start again at once after a teardown with the broker up (the supervisor's reconnect), on the dev broker through unmodified kafkajs.
import { Partitioners } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { builtinExecutors } from '@taskwire/executors';
import { SchemaCompiler, schemaRef } from '@taskwire/json-schema';
import { connectKafkaClients, randomName, startTestBroker } from '@taskwire/testkit';
import type { KafkaClients, TestBroker } from '@taskwire/testkit';
import { buildRegistry } from '../registry/index.js';
import { RunningTasks, runTask, SchemaRefs } from '../runner/index.js';
import { BatchingProducer } from './batching-producer.js';
import { ControlConsumer } from './control-consumer.js';
import { DispatchConsumer } from './dispatch-consumer.js';
import { SchemaConsumer } from './schema-consumer.js';
import { testDispatch } from '../testing/dispatch.js';

let broker: TestBroker;
let clients: KafkaClients;
let cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  broker = await startTestBroker();
  clients = await connectKafkaClients(broker.brokers, 'reconnect-int-test');
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

async function freshTopic(prefix: string): Promise<string> {
  const topic = randomName(prefix);
  await clients.admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
  return topic;
}

const send = async (topic: string, key: string, value: unknown): Promise<void> => {
  await clients.producer.send({ topic, acks: -1, messages: [{ key, value: JSON.stringify(value) }] });
};

/**
 * What the supervisor does after a loss: teardown, then connect at once. The first start must
 * succeed (a failed one costs a retry after 1 s and a "Kafka unavailable" warning), and the
 * consumer must read what is sent after it.
 */
describe('a worker consumer torn down and started again with the broker up', () => {
  it('the dispatch consumer starts at its first attempt and runs the next dispatch', async () => {
    const topic = await freshTopic('dispatch');
    const results = await freshTopic('results');
    const producer = clients.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const out = new BatchingProducer(producer, logger);
    cleanups.push(async () => out.close());
    const deps = {
      workerId: 'w-reconnect',
      registry: buildRegistry([{ plugin: '@taskwire/executors', value: builtinExecutors }], {
        allowShell: false,
      }),
      running: new RunningTasks(),
      schemas: new SchemaCompiler(),
      logger,
      publish: (taskId: string, value: string) => out.send(results, { key: taskId, value }),
    };
    const lost: Error[] = [];
    const launched: string[] = [];
    const consumer = new DispatchConsumer({
      kafka: clients.kafka,
      groupId: randomName('workers'),
      topics: [topic],
      concurrency: 2,
      sessionTimeoutMs: 6000,
      producer: out,
      logger,
      onLost: (err) => lost.push(err),
      run: (message, executed) => {
        launched.push(message.task_id);
        return runTask(message, deps, executed);
      },
    });
    cleanups.push(() => consumer.disconnect());
    await consumer.start();
    await consumer.disconnect();
    await consumer.start();

    const m = testDispatch();
    await send(topic, m.task_id, m);
    await vi.waitFor(() => expect(launched).toEqual([m.task_id]), { timeout: 20_000 });
    expect(lost).toEqual([]);
  });

  it('the control consumer starts at its first attempt and applies the next cancel', async () => {
    const topic = await freshTopic('control');
    const running = new RunningTasks();
    const lost: Error[] = [];
    const consumer = new ControlConsumer({
      kafka: clients.kafka,
      topic,
      groupId: randomName('control'),
      running,
      logger,
      onLost: (err) => lost.push(err),
    });
    cleanups.push(() => consumer.disconnect());
    await consumer.start();
    await consumer.disconnect();
    await consumer.start();

    await send(topic, 'task-1', { v: 1, type: 'cancel', task_id: 'task-1', at: Date.now() });
    await vi.waitFor(() => expect(running.wasCanceled('task-1', 1, 0)).toBe(true), { timeout: 20_000 });
    expect(lost).toEqual([]);
  });

  it('the schema consumer starts at its first attempt and reads the next schema', async () => {
    const topic = await freshTopic('schemas');
    const refs = new SchemaRefs(60_000);
    const lost: Error[] = [];
    const consumer = new SchemaConsumer({
      kafka: clients.kafka,
      topic,
      groupId: randomName('schemas'),
      refs,
      logger,
      onLost: (err) => lost.push(err),
    });
    cleanups.push(() => consumer.disconnect());
    await consumer.start();
    await consumer.disconnect();
    await consumer.start();

    const schema = { type: 'object' };
    const hash = schemaRef(schema);
    await send(topic, hash, { v: 1, hash, param_schema: schema });
    await vi.waitFor(() => expect(refs.get(hash)).toEqual(schema), { timeout: 20_000 });
    expect(lost).toEqual([]);
  });
});
