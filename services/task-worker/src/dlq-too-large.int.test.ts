// Integration: a worker (startWorker) dead-letters a dispatch too large for the DLQ as a cut-down copy, and never stalls its partition.
import { fileURLToPath } from 'node:url';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DLQ_HEADERS, dlqTopicFor, messageBytes } from '@taskwire/contracts';
import { builtinExecutors } from '@taskwire/executors';
import { brokerTraits, connectKafkaClients, randomName, startTestBroker } from '@taskwire/testkit';
import type { KafkaClients, TestBroker } from '@taskwire/testkit';
import { loadConfig } from './config.js';
import { buildRegistry } from './registry/index.js';
import { startWorker } from './worker.js';
import type { Worker } from './worker.js';
import { testDispatch } from './testing/dispatch.js';
import { logLines, workerEnv, workerTopicNames } from './testing/worker-topics.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** The worker's KAFKA_MAX_MESSAGE_BYTES (its smallest allowed): a 2,000-byte dead letter is over it. */
const LIMIT = 1024;

let broker: TestBroker;
let clients: KafkaClients;
const consumers: Consumer[] = [];
let workers: Worker[] = [];

beforeAll(async () => {
  broker = await startTestBroker();
  clients = await connectKafkaClients(broker.brokers, 'dlq-too-large-int-test');
}, brokerTraits.startMs);

afterEach(async () => {
  await Promise.allSettled(workers.map((w) => w.stop()));
  workers = [];
});

afterAll(async () => {
  await Promise.allSettled(consumers.map((c) => c.disconnect()));
  await clients?.disconnect();
  await broker?.stop();
});

const registry = buildRegistry([{ plugin: '@taskwire/executors', value: builtinExecutors }], {
  allowShell: false,
});

interface LogLine {
  level: number;
  msg: string;
  offset?: string;
}

/** A worker with a 1,024-byte message limit on fresh topics, its error log, and what the test reads. */
async function workerOnFreshTopics() {
  const t = workerTopicNames();
  await clients.admin.createTopics({
    waitForLeaders: true,
    topics: [t.dispatch, dlqTopicFor(t.dispatch), t.results, t.control, t.heartbeats].map((topic) => ({
      topic,
      numPartitions: 1,
    })),
  });
  const { lines: errors, stream: sink } = logLines<LogLine>();
  const worker = await startWorker(
    loadConfig(workerEnv(broker.brokers, t, { KAFKA_MAX_MESSAGE_BYTES: String(LIMIT) })),
    { registry, logger: pino({ level: 'error' }, sink), cwd: repoRoot },
  );
  workers.push(worker);

  const dead: KafkaMessage[] = [];
  const collector = clients.kafka.consumer({ groupId: randomName('collector'), maxWaitTimeInMs: 100 });
  consumers.push(collector);
  await collector.connect();
  await collector.subscribe({ topic: dlqTopicFor(t.dispatch), fromBeginning: true });
  await collector.run({
    eachMessage: async ({ message }) => {
      dead.push(message);
    },
  });

  const produce = async (messages: { key: string; value: string }[]) =>
    clients.producer.send({ topic: t.dispatch, acks: -1, messages });
  const committed = async (): Promise<number> => {
    const [res] = await clients.admin.fetchOffsets({ groupId: t.group, topics: [t.dispatch] });
    return Math.max(0, Number(res?.partitions[0]?.offset ?? -1));
  };
  return { t, produce, committed, dead, errors };
}

const WAIT = { timeout: 20_000, interval: 50 };
const header = (m: KafkaMessage, name: string): string | undefined => m.headers?.[name]?.toString();

describe('a dispatch whose dead letter is too large for the DLQ', () => {
  it('goes to the DLQ cut down and marked truncated, and the partition moves on', async () => {
    const w = await workerOnFreshTopics();
    // Not JSON (so dead-lettered), 2,000 bytes: within the broker's limit, over the worker's.
    const poison = 'é'.repeat(1000);
    await w.produce([
      { key: 'poison', value: poison },
      { key: 'echo', value: JSON.stringify(testDispatch()) },
    ]);

    await vi.waitFor(async () => expect(await w.committed()).toBe(2), WAIT);
    await vi.waitFor(() => expect(w.dead).toHaveLength(1), WAIT);
    const copy = w.dead[0]!;
    expect(copy.key?.toString()).toBe('poison');
    expect(header(copy, DLQ_HEADERS.truncated)).toBe('true');
    expect(header(copy, DLQ_HEADERS.originalBytes)).toBe('2000');
    expect(header(copy, DLQ_HEADERS.topic)).toBe(w.t.dispatch);
    expect(header(copy, DLQ_HEADERS.partition)).toBe('0');
    expect(header(copy, DLQ_HEADERS.offset)).toBe('0');
    expect(header(copy, DLQ_HEADERS.reason)).toMatch(/JSON/i);
    // The first bytes of the original, cut between characters, and the whole copy within the limit.
    const value = copy.value!.toString('utf8');
    expect(value.length).toBeGreaterThan(100);
    expect(poison.startsWith(value)).toBe(true);
    expect(messageBytes(copy.key, copy.value, copy.headers)).toBeLessThanOrEqual(LIMIT);
    expect(w.errors).toEqual([]);
  });

  it('is logged as an error naming its coordinates when not even the cut-down copy fits, and the partition moves on', async () => {
    const w = await workerOnFreshTopics();
    // The key alone is over the limit: no copy of it can be sent.
    await w.produce([
      { key: 'k'.repeat(LIMIT + 100), value: 'not json' },
      { key: 'echo', value: JSON.stringify(testDispatch()) },
    ]);

    await vi.waitFor(async () => expect(await w.committed()).toBe(2), WAIT);
    expect(w.dead).toEqual([]);
    expect(w.errors.map((e) => e.msg)).toEqual([
      `dead letter ${w.t.dispatch}/0@0 is too large for ${dlqTopicFor(w.t.dispatch)} even cut down; not dead-lettered, its offset is done (the message stays in ${w.t.dispatch} until retention)`,
    ]);
  });
});
