// Integration: a real worker (startWorker) against the dev broker through unmodified kafkajs.
import { fileURLToPath } from 'node:url';
import type { Consumer, IHeaders } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeHeartbeat, decodeResult, dlqTopicFor } from '@taskwire/contracts';
import type { DispatchMessage, HeartbeatMessage, ResultMessage } from '@taskwire/contracts';
import { connectKafkaClients, randomName, startTestBroker } from '@taskwire/testkit';
import type { KafkaClients, TestBroker } from '@taskwire/testkit';
import { loadConfig } from './config.js';
import type { Config } from './config.js';
import { startWorker } from './worker.js';
import type { Worker } from './worker.js';
import { testDispatch } from './testing/dispatch.js';
import { workerEnv, workerTopicNames } from './testing/worker-topics.js';
import type { WorkerTopics } from './testing/worker-topics.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const PARTITIONS = 3;

let broker: TestBroker;
let clients: KafkaClients;
const consumers: Consumer[] = [];

beforeAll(async () => {
  broker = await startTestBroker();
  clients = await connectKafkaClients(broker.brokers, 'worker-int-test');
});

afterAll(async () => {
  await Promise.allSettled(consumers.map((c) => c.disconnect()));
  await clients?.disconnect();
  await broker?.stop();
});

async function createTopics(): Promise<WorkerTopics> {
  const t = workerTopicNames();
  await clients.admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: t.dispatch, numPartitions: PARTITIONS },
      { topic: dlqTopicFor(t.dispatch), numPartitions: 1 },
      { topic: t.results, numPartitions: PARTITIONS },
      { topic: t.control, numPartitions: 1 },
      { topic: t.heartbeats, numPartitions: 1 },
    ],
  });
  return t;
}

function configFor(t: WorkerTopics, env: Record<string, string> = {}): Config {
  return loadConfig(
    workerEnv(broker.brokers, t, {
      EXECUTORS: '@taskwire/executors,./examples/executor-plugin/index.js',
      HEARTBEAT_INTERVAL_MS: '200',
      LOG_LEVEL: 'silent',
      ...env,
    }),
  );
}

/** Collects every message of a topic from the beginning. */
async function collect<T>(
  topic: string,
  decode: (v: Buffer | null) => T,
): Promise<{ items: T[]; headers: IHeaders[] }> {
  const consumer = clients.kafka.consumer({ groupId: randomName('collector'), maxWaitTimeInMs: 100 });
  consumers.push(consumer);
  const out = { items: [] as T[], headers: [] as IHeaders[] };
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      out.items.push(decode(message.value));
      out.headers.push(message.headers ?? {});
    },
  });
  return out;
}

function resultDecoder(v: Buffer | null): ResultMessage {
  const d = decodeResult(v);
  if (!d.ok) throw new Error(d.reason);
  return d.value;
}

async function dispatch(topic: string, tasks: DispatchMessage[]): Promise<void> {
  await clients.producer.send({
    topic,
    acks: -1,
    messages: tasks.map((m) => ({ key: m.task_id, value: JSON.stringify(m) })),
  });
}

async function committed(group: string, topic: string): Promise<number> {
  const [res] = await clients.admin.fetchOffsets({ groupId: group, topics: [topic] });
  return (res?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

const terminal = (results: ResultMessage[], id: string) =>
  results.find((r) => r.task_id === id && r.type !== 'started' && r.type !== 'log' && r.type !== 'progress');

describe('task-worker against the dev broker', () => {
  let t: WorkerTopics;
  let worker: Worker;
  let results: ResultMessage[];
  let produced = 0;

  beforeAll(async () => {
    t = await createTopics();
    results = (await collect(t.results, resultDecoder)).items;
    worker = await startWorker(configFor(t, { WORKER_CONCURRENCY: '32' }), { cwd: repoRoot });
  });
  afterAll(() => worker?.stop());

  it('runs 200 echo tasks, publishes every result and commits every offset', async () => {
    const tasks = Array.from({ length: 200 }, () => testDispatch());
    await dispatch(t.dispatch, tasks);
    produced += tasks.length;
    await vi.waitFor(
      () => expect(results.filter((r) => r.type === 'succeeded').length).toBeGreaterThanOrEqual(200),
      {
        timeout: 30_000,
      },
    );
    for (const m of tasks) {
      expect(terminal(results, m.task_id)).toMatchObject({
        type: 'succeeded',
        worker_id: worker.id,
        result: m.params,
      });
      // Every run reports its start: a `started` message, or (when the task ended before that
      // message went out) started_at on the terminal result instead.
      const mine = results.filter((r) => r.task_id === m.task_id);
      if (mine.length === 2) {
        expect(mine.map((r) => r.type)).toEqual(['started', 'succeeded']);
        expect(mine[1]?.started_at).toBeUndefined();
      } else {
        expect(mine.map((r) => r.type)).toEqual(['succeeded']);
        expect(mine[0]?.started_at).toEqual(expect.any(Number));
        expect(mine[0]!.started_at!).toBeLessThanOrEqual(mine[0]!.at);
      }
    }
    await vi.waitFor(async () => expect(await committed(t.group, t.dispatch)).toBe(produced), {
      timeout: 10_000,
    });
  });

  it('runs an executor from the example plugin loaded by path', async () => {
    const m = testDispatch({ executor: 'reverse', params: { text: 'abc' } });
    await dispatch(t.dispatch, [m]);
    produced++;
    await vi.waitFor(() =>
      expect(terminal(results, m.task_id)).toMatchObject({ result: { reversed: 'cba' } }),
    );
  });

  it('sends a poison message to the DLQ with the reason and goes on', async () => {
    const dlq = await collect(dlqTopicFor(t.dispatch), (v) => v?.toString('utf8'));
    await clients.producer.send({
      topic: t.dispatch,
      messages: [{ key: 'poison', value: '{"v":1,"task_id":' }],
      acks: -1,
    });
    const after = testDispatch();
    await dispatch(t.dispatch, [after]);
    produced += 2;
    await vi.waitFor(() => expect(dlq.items).toEqual(['{"v":1,"task_id":']));
    expect(String(dlq.headers[0]?.['x-dlq-reason'])).toMatch(/^dispatch message: not JSON/);
    await vi.waitFor(() => expect(terminal(results, after.task_id)?.type).toBe('succeeded'));
    await vi.waitFor(async () => expect(await committed(t.group, t.dispatch)).toBe(produced), {
      timeout: 10_000,
    });
  });

  it('runs a dispatch larger than what one fetch asks for per partition (256 KiB)', async () => {
    const m = testDispatch({ params: { pad: 'x'.repeat(300 * 1024) } });
    await dispatch(t.dispatch, [m]);
    produced++;
    // Too large to echo back (MAX_RESULT_BYTES), but fetched whole and run: a terminal result.
    await vi.waitFor(() => expect(terminal(results, m.task_id)?.type).toBe('failed'), { timeout: 10_000 });
    expect(terminal(results, m.task_id)?.error?.code).toBe('result_too_large');
    await vi.waitFor(async () => expect(await committed(t.group, t.dispatch)).toBe(produced), {
      timeout: 10_000,
    });
  });

  it('fails a task for an unknown executor, naming the worker and the executor', async () => {
    const m = testDispatch({ executor: 'teleport' });
    await dispatch(t.dispatch, [m]);
    produced++;
    await vi.waitFor(() => expect(terminal(results, m.task_id)?.type).toBe('failed'));
    expect(terminal(results, m.task_id)?.error).toMatchObject({
      retryable: false,
      code: 'executor_not_found',
    });
    expect(terminal(results, m.task_id)?.error?.message).toContain(
      `worker ${worker.id} has no executor "teleport"`,
    );
  });

  it('aborts a running sleep when a cancel arrives on the control topic', async () => {
    const m = testDispatch({ executor: 'sleep', params: { ms: 60_000 } });
    await dispatch(t.dispatch, [m]);
    produced++;
    await vi.waitFor(() =>
      expect(results.some((r) => r.task_id === m.task_id && r.type === 'started')).toBe(true),
    );
    await clients.producer.send({
      topic: t.control,
      acks: -1,
      messages: [
        {
          key: m.task_id,
          value: JSON.stringify({ v: 1, type: 'cancel', task_id: m.task_id, at: Date.now() }),
        },
      ],
    });
    await vi.waitFor(() => expect(terminal(results, m.task_id)?.type).toBe('canceled'), { timeout: 15_000 });
    await vi.waitFor(async () => expect(await committed(t.group, t.dispatch)).toBe(produced), {
      timeout: 10_000,
    });
  });
});

describe('task-worker shutdown', () => {
  it('stop() lets an in-flight task finish, commits its offset and sends a last heartbeat', async () => {
    const t = await createTopics();
    const results = (await collect(t.results, resultDecoder)).items;
    const beats = (
      await collect(t.heartbeats, (v): HeartbeatMessage => {
        const d = decodeHeartbeat(v);
        if (!d.ok) throw new Error(d.reason);
        return d.value;
      })
    ).items;
    const worker = await startWorker(configFor(t, { SHUTDOWN_GRACE_MS: '20000' }), { cwd: repoRoot });
    const m = testDispatch({ executor: 'sleep', params: { ms: 400 } });
    await dispatch(t.dispatch, [m]);
    await vi.waitFor(() => expect(worker.running()).toBe(1));
    await worker.stop();
    expect(worker.running()).toBe(0);
    await vi.waitFor(() => expect(terminal(results, m.task_id)?.type).toBe('succeeded'));
    expect(await committed(t.group, t.dispatch)).toBe(1);
    await vi.waitFor(() => expect(beats.at(-1)).toMatchObject({ worker_id: worker.id, stopping: true }));
    expect(beats[0]).toMatchObject({
      executors: ['echo', 'flaky', 'http', 'reverse', 'sleep'],
      queues: ['default'],
    });
  });
});
