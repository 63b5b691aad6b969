// Integration: a worker (startWorker) whose result Kafka refuses, replacement and all, on a size-limited broker.
import { fileURLToPath } from 'node:url';
import type { Consumer } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeResult } from '@taskwire/contracts';
import type { DispatchMessage, ResultMessage } from '@taskwire/contracts';
import { defineExecutor } from '@taskwire/executor-sdk';
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

/**
 * Bytes a record batch may take. A one-record batch is its key and value plus ~70 bytes of framing
 * (kafkajs writes the same on either broker), with keys of randomName('task') (21 bytes):
 * - a dispatch of testDispatch() below is ~233 bytes of JSON: ~324, it fits;
 * - the `started` of a worker with a short id (randomName, 19 bytes) is ~123: ~214, it fits, and
 *   so does an echo result ({} with started_at, ~160);
 * - the `failed` that replaces a refused result (its error names the task and the refusal) is
 *   ~330 with that id: ~421, refused;
 * - with a 200-character worker id a `started` is ~305: ~396, refused, and so is everything else
 *   that worker sends.
 * The dev broker applies this to every batch (a second broker with the limit); on real Kafka the
 * result topic is given it (max.message.bytes), which the dev broker ignores.
 */
const LIMIT = 360;
const LONG_WORKER_ID = 'w'.repeat(200);

let broker: TestBroker;
let strictBroker: TestBroker;
let clients: KafkaClients;
const consumers: Consumer[] = [];
let workers: Worker[] = [];

beforeAll(async () => {
  broker = await startTestBroker();
  strictBroker = broker.kind === 'dev' ? await startTestBroker({ dev: { maxBatchBytes: LIMIT } }) : broker;
  clients = await connectKafkaClients(strictBroker.brokers, 'unpublishable-result-int-test');
}, 2 * brokerTraits.startMs);

afterEach(async () => {
  await Promise.allSettled(workers.map((w) => w.stop()));
  workers = [];
});

afterAll(async () => {
  await Promise.allSettled(consumers.map((c) => c.disconnect()));
  await clients?.disconnect();
  if (strictBroker !== broker) await strictBroker?.stop();
  await broker?.stop();
});

/** An executor whose result (2,000 bytes) is within every limit of the worker but not the broker's. */
const bigResult = defineExecutor<unknown, string>({
  name: 'big',
  description: 'Returns 2,000 characters',
  run: () => 'x'.repeat(2000),
});
const registry = buildRegistry(
  [
    { plugin: '@taskwire/executors', value: builtinExecutors },
    { plugin: 'unpublishable-result.int.test', value: [bigResult] },
  ],
  { allowShell: false },
);

interface LogLine {
  level: number;
  msg: string;
  taskId?: string;
}

/**
 * A worker on fresh topics (one dispatch partition) of the strict broker, with its error log lines
 * collected, plus what the test reads: the group's committed offset and the result topic.
 */
async function workerOnFreshTopics(workerId: string) {
  const t = workerTopicNames();
  await clients.admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: t.dispatch, numPartitions: 1 },
      {
        topic: t.results,
        numPartitions: 1,
        configEntries: [{ name: 'max.message.bytes', value: String(LIMIT) }],
      },
      { topic: t.control, numPartitions: 1 },
      { topic: t.heartbeats, numPartitions: 1 },
    ],
  });
  const { lines: errors, stream: sink } = logLines<LogLine>();
  const worker = await startWorker(loadConfig(workerEnv(strictBroker.brokers, t, { WORKER_ID: workerId })), {
    registry,
    logger: pino({ level: 'error' }, sink),
    cwd: repoRoot,
  });
  workers.push(worker);

  const results: ResultMessage[] = [];
  const collector = clients.kafka.consumer({ groupId: randomName('collector'), maxWaitTimeInMs: 100 });
  consumers.push(collector);
  await collector.connect();
  await collector.subscribe({ topic: t.results, fromBeginning: true });
  await collector.run({
    eachMessage: async ({ message }) => {
      const d = decodeResult(message.value);
      if (!d.ok) throw new Error(d.reason);
      results.push(d.value);
    },
  });

  /** One request each: a batch of two dispatches is over the limit. */
  const dispatch = async (tasks: DispatchMessage[]) => {
    for (const m of tasks)
      await clients.producer.send({
        topic: t.dispatch,
        acks: -1,
        messages: [{ key: m.task_id, value: JSON.stringify(m) }],
      });
  };
  const committed = async (): Promise<number> => {
    const [res] = await clients.admin.fetchOffsets({ groupId: t.group, topics: [t.dispatch] });
    return Math.max(0, Number(res?.partitions[0]?.offset ?? -1));
  };
  const errorsAbout = (taskId: string) => errors.filter((e) => e.taskId === taskId).map((e) => e.msg);
  return { worker, dispatch, committed, results, errorsAbout };
}

const WAIT = { timeout: 20_000, interval: 50 };

describe('a result Kafka refuses, and its replacement too', () => {
  it('is given up once a started is acknowledged, and later dispatches of its partition are committed', async () => {
    const w = await workerOnFreshTopics(randomName('w'));
    const big = testDispatch({ executor: 'big' });
    const behind = [testDispatch(), testDispatch()];
    await w.dispatch([big, ...behind]);

    // Offset 0 does not hold back the commits of 1 and 2.
    await vi.waitFor(async () => expect(await w.committed()).toBe(3), WAIT);
    for (const echo of behind)
      await vi.waitFor(
        () =>
          expect(w.results).toContainEqual(
            expect.objectContaining({ task_id: echo.task_id, type: 'succeeded' }),
          ),
        WAIT,
      );
    // The manager learns that the attempt started (so its watchdog times it out); nothing else of it went out.
    await vi.waitFor(
      () =>
        expect(w.results.filter((r) => r.task_id === big.task_id).map((r) => r.type)).toEqual(['started']),
      WAIT,
    );
    expect(w.errorsAbout(big.task_id)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^the succeeded result of task ${big.task_id} attempt 1 cannot be published \\(.*too large.*\\): given up`,
        ),
      ),
    ]);
  });

  it('keeps its dispatch uncommitted when not even a started can be sent', async () => {
    // Every message of this worker names it, and is too large for the broker.
    const w = await workerOnFreshTopics(LONG_WORKER_ID);
    const big = testDispatch({ executor: 'big' });
    await w.dispatch([big]);
    await vi.waitFor(
      () => expect(w.errorsAbout(big.task_id)).toEqual([expect.stringContaining('nor its started message')]),
      WAIT,
    );
    // What stop() commits: the manager never heard of this run, so the dispatch must be delivered again.
    await w.worker.stop();
    expect(await w.committed()).toBe(0);
    expect(w.results.filter((r) => r.task_id === big.task_id)).toEqual([]);
  });
});
