// Integration: the sandbox variables reach the built-in http and shell executors of a real worker (dev broker, kafkajs).
import { createServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeResult } from '@taskwire/contracts';
import type { ResultMessage } from '@taskwire/contracts';
import { connectKafkaClients, randomName, startTestBroker } from '@taskwire/testkit';
import type { KafkaClients, TestBroker } from '@taskwire/testkit';
import { SHELL_PATH } from '@taskwire/executors';
import { loadConfig } from '../config.js';
import { startWorker } from '../worker.js';
import type { Worker } from '../worker.js';
import { testDispatch } from '../testing/dispatch.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

let broker: TestBroker;
let clients: KafkaClients;
const consumers: Consumer[] = [];
let server: Server;
let local: string;
const results: ResultMessage[] = [];
const workers: Worker[] = [];

beforeAll(async () => {
  server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('hello'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  local = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  broker = await startTestBroker();
  clients = await connectKafkaClients(broker.brokers, 'sandbox-int-test');
});

afterAll(async () => {
  await Promise.allSettled(workers.map((w) => w.stop()));
  await Promise.allSettled(consumers.map((c) => c.disconnect()));
  await clients?.disconnect();
  await broker?.stop();
  await new Promise((r) => server.close(r));
});

/** A worker on its own topics, configured from env like the real process. */
async function worker(env: Record<string, string>): Promise<string> {
  const t = { dispatch: randomName('dispatch'), results: randomName('results') };
  await clients.admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: t.dispatch, numPartitions: 1 },
      { topic: t.results, numPartitions: 1 },
    ],
  });
  const consumer = clients.kafka.consumer({ groupId: randomName('collector'), maxWaitTimeInMs: 100 });
  consumers.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic: t.results, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const d = decodeResult(message.value);
      if (d.ok) results.push(d.value);
    },
  });
  const config = loadConfig({
    KAFKA_BROKERS: broker.brokers,
    TASK_DISPATCH_TOPIC: t.dispatch,
    RESULT_TOPIC: t.results,
    TASK_CONTROL_TOPIC: randomName('control'),
    WORKER_HEARTBEAT_TOPIC: randomName('heartbeats'),
    GROUP_ID: randomName('workers'),
    WORKER_ID: randomName('w'),
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    LOG_LEVEL: 'silent',
    ...env,
  });
  workers.push(await startWorker(config, { cwd: repoRoot }));
  return t.dispatch;
}

async function runTask(topic: string, executor: string, params: unknown): Promise<ResultMessage> {
  const m = testDispatch({ executor, params });
  await clients.producer.send({ topic, acks: -1, messages: [{ key: m.task_id, value: JSON.stringify(m) }] });
  const done = (): ResultMessage | undefined =>
    results.find((r) => r.task_id === m.task_id && (r.type === 'succeeded' || r.type === 'failed'));
  await vi.waitFor(() => expect(done()).toBeDefined(), { timeout: 20_000 });
  return done()!;
}

describe('executor sandbox in a running worker', () => {
  let strict: string;
  let open: string;

  beforeAll(async () => {
    strict = await worker({ WORKER_ALLOW_SHELL: '1' });
    open = await worker({
      HTTP_EXECUTOR_ALLOW_HOSTS: '127.0.0.1',
      WORKER_ALLOW_SHELL: '1',
      WORKER_SHELL_PROGRAMS: 'env',
      WORKER_SHELL_ENV: 'GREETING',
    });
  }, 60_000);

  it('fails an http task to 127.0.0.1 or 169.254.169.254 for good, naming the blocked address', async () => {
    const loopback = await runTask(strict, 'http', { method: 'GET', url: local });
    expect(loopback.error).toMatchObject({
      retryable: false,
      code: 'address_blocked',
      message: `http GET ${local}: 127.0.0.1 is a loopback address`,
    });
    const metadata = await runTask(open, 'http', { method: 'GET', url: 'http://169.254.169.254/latest/' });
    expect(metadata.error).toMatchObject({
      retryable: false,
      message: 'http GET http://169.254.169.254/latest/: 169.254.169.254 is a link-local/metadata address',
    });
  });

  it('lets 127.0.0.1 through with HTTP_EXECUTOR_ALLOW_HOSTS=127.0.0.1', async () => {
    const res = await runTask(open, 'http', { method: 'GET', url: local });
    expect(res).toMatchObject({ type: 'succeeded', result: { status: 200, body: 'hello' } });
  });

  it('refuses an http timeout_ms beyond 10 minutes before running', async () => {
    const res = await runTask(open, 'http', { method: 'GET', url: local, timeout_ms: 2 ** 31 });
    expect(res.error).toMatchObject({ retryable: false });
    expect(res.error?.message).toMatch(/timeout_ms must be <= 600000/);
  });

  it('runs an allowed program with only PATH and the allowed keys the task names', async () => {
    const res = await runTask(open, 'shell', { argv: ['env'], env: { GREETING: 'hi' } });
    expect(res.type).toBe('succeeded');
    const lines = (res.result as { stdout: string }).stdout.trim().split('\n').sort();
    expect(lines).toEqual(['GREETING=hi', `PATH=${SHELL_PATH}`]);
  });

  it('refuses programs outside WORKER_SHELL_PROGRAMS and NODE_OPTIONS in the task env', async () => {
    const none = await runTask(strict, 'shell', { argv: ['env'] });
    expect(none.error).toMatchObject({ retryable: false, code: 'program_refused' });
    expect(none.error?.message).toMatch(/WORKER_SHELL_PROGRAMS is empty/);
    const sh = await runTask(open, 'shell', { argv: ['sh', '-c', 'env'] });
    expect(sh.error?.message).toBe('shell: program "sh" is not in WORKER_SHELL_PROGRAMS (allowed: env)');
    const inject = await runTask(open, 'shell', { argv: ['env'], env: { NODE_OPTIONS: '--require=/tmp/x' } });
    expect(inject.error).toMatchObject({ retryable: false, code: 'env_refused' });
    expect(inject.error?.message).toMatch(/^shell: env NODE_OPTIONS can never be passed/);
  });
});
