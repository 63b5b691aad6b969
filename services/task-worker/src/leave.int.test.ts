// Integration: a worker that crashes leaves its consumer group at once (worker.abort), so the others take its partitions without waiting for its session to expire.
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomName, startTestBroker } from '@taskwire/testkit';
import type { TestBroker } from '@taskwire/testkit';
import { loadConfig } from './config.js';
import { startWorker } from './worker.js';
import type { Worker } from './worker.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** Far longer than the test waits: only an explicit leave can shrink the group in time. */
const SESSION_TIMEOUT_MS = 120_000;

let broker: TestBroker;
let admin: Admin;
const workers: Worker[] = [];

beforeAll(async () => {
  broker = await startTestBroker();
  admin = new Kafka({ brokers: [broker.brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
});

afterAll(async () => {
  await Promise.allSettled(workers.map((w) => w.stop()));
  await admin?.disconnect();
  await broker?.stop();
});

async function members(groupId: string): Promise<{ state: string; count: number }> {
  const { groups } = await admin.describeGroups([groupId]);
  return { state: groups[0]?.state ?? '', count: groups[0]?.members.length ?? 0 };
}

async function waitFor<T>(what: string, check: () => Promise<T | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('leaving the group', () => {
  it('a crashing worker leaves its group at once instead of holding its partitions for a session timeout', async () => {
    const dispatch = randomName('dispatch');
    const group = randomName('workers');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: dispatch, numPartitions: 4 }] });
    const env = {
      KAFKA_BROKERS: broker.brokers,
      TASK_DISPATCH_TOPIC: dispatch,
      RESULT_TOPIC: randomName('results'),
      TASK_CONTROL_TOPIC: randomName('control'),
      WORKER_HEARTBEAT_TOPIC: randomName('heartbeats'),
      GROUP_ID: group,
      KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
      LOG_LEVEL: 'silent',
    };
    const crashing = await startWorker(loadConfig({ ...env, WORKER_ID: randomName('a') }), { cwd: repoRoot });
    workers.push(crashing);
    const survivor = await startWorker(loadConfig({ ...env, WORKER_ID: randomName('b') }), { cwd: repoRoot });
    workers.push(survivor);
    await waitFor(
      'both workers in the group',
      async () => {
        const m = await members(group);
        return m.count === 2 && m.state === 'Stable' ? m : false;
      },
      30_000,
    );

    await crashing.abort(5000);
    const after = await waitFor(
      'the group to shrink to the survivor',
      async () => {
        const m = await members(group);
        return m.count === 1 && m.state === 'Stable' ? m : false;
      },
      SESSION_TIMEOUT_MS / 4,
    );
    expect(after).toEqual({ state: 'Stable', count: 1 });
    expect(survivor.status()).toEqual({ ready: true });
  });
});
