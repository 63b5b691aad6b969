// A worker stays up without Kafka: started with no broker reachable, or when the broker restarts, it retries, reports not ready, and runs tasks once the broker is back.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { api, freePort, startBrokerProcess, startNode, useProcesses, waitFor } from './support/processes.js';
import { createTask, createTemplate, waitForStatus } from './support/tasks.js';

async function probe(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('worker without Kafka', () => {
  const { dir, procs, startManager } = useProcesses('uptime');

  it('a worker started with no broker reachable keeps retrying, completes tasks once the broker starts, and again after a broker restart', async () => {
    const brokerPort = await freePort();
    const healthPort = await freePort();
    const brokers = `127.0.0.1:${brokerPort}`;
    const manager = await startManager({ brokers, env: { KAFKA_SESSION_TIMEOUT_MS: '6000' } });
    const workerId = `w-${randomUUID().slice(0, 6)}`;
    const worker = startNode(workerId, 'services/task-worker/dist/main.js', {
      WORKER_ID: workerId,
      KAFKA_BROKERS: brokers,
      HEARTBEAT_INTERVAL_MS: '1000',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      HEALTH_ADDR: `127.0.0.1:${healthPort}`,
    });
    procs.push(worker);
    const health = `http://127.0.0.1:${healthPort}`;
    const alive = (): void => {
      if (worker.child.exitCode !== null || worker.child.signalCode !== null)
        throw new Error(`worker exited: ${worker.output()}`);
    };

    await waitFor('the worker /healthz', async () => (await probe(`${health}/healthz`)).status === 200);
    // kafkajs gives up on its first connect after ~10 s: the worker used to exit 1 right there.
    await waitFor(
      'a retry logged at warn',
      () => {
        alive();
        return /Kafka unavailable .*retrying in \d+ ms/.test(worker.output());
      },
      60_000,
    );
    const notReady = await probe(`${health}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.body).toEqual({ status: 'unavailable', reason: expect.stringMatching(/\S/) });
    alive();

    const broker = await startBrokerProcess(path.join(dir, 'broker'), { port: brokerPort });
    procs.splice(1, 0, broker.proc); // stopped after the worker
    await waitFor(
      'the worker /readyz to turn 200',
      async () => {
        alive();
        return (await probe(`${health}/readyz`)).status === 200;
      },
      90_000,
      250,
    );

    const http = api(manager.url);
    const template = await createTemplate(http, { executor: 'echo' });
    const tasks = await Promise.all(
      [1, 2, 3].map((i) => createTask(http, { task_template_id: template.id, params: { i } })),
    );
    for (const [i, t] of tasks.entries()) {
      const done = await waitForStatus(http, t.id, 'COMPLETED', 60_000);
      expect(done.result).toEqual({ i: i + 1 });
      expect(done.worker_id).toBe(workerId);
    }

    // A broker restart later: the worker reports it, stays up, and consumes again once it is back.
    await broker.kill('SIGTERM');
    const lost = await waitFor(
      'the worker /readyz to turn 503 while the broker is down',
      async () => {
        alive();
        const r = await probe(`${health}/readyz`);
        return r.status === 503 ? r : null;
      },
      90_000,
      250,
    );
    expect(lost.body.reason).toEqual(expect.stringMatching(/\S/));
    await broker.start();
    await waitFor(
      'the worker /readyz to turn 200 again',
      async () => {
        alive();
        return (await probe(`${health}/readyz`)).status === 200;
      },
      90_000,
      250,
    );
    const after = await createTask(http, { task_template_id: template.id, params: { after: 'restart' } });
    expect((await waitForStatus(http, after.id, 'COMPLETED', 90_000)).result).toEqual({ after: 'restart' });
    alive();
  });

  it('a worker asked to stop while the broker is down still exits, instead of waiting on Kafka forever', async () => {
    const broker = await startBrokerProcess(path.join(dir, 'broker-stop'));
    procs.push(broker.proc);
    const healthPort = await freePort();
    const workerId = `w-${randomUUID().slice(0, 6)}`;
    const worker = startNode(workerId, 'services/task-worker/dist/main.js', {
      WORKER_ID: workerId,
      KAFKA_BROKERS: broker.brokers,
      HEARTBEAT_INTERVAL_MS: '1000',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      SHUTDOWN_GRACE_MS: '1000',
      HEALTH_ADDR: `127.0.0.1:${healthPort}`,
    });
    procs.push(worker);
    const health = `http://127.0.0.1:${healthPort}`;
    await waitFor(
      'the worker to be ready',
      async () => (await probe(`${health}/readyz`)).status === 200,
      90_000,
    );

    await broker.kill('SIGKILL');
    worker.child.kill('SIGTERM');
    // Before the fix the graceful stop waited on kafkajs commit/leave retries for as long as the
    // broker was away (seen: 20 minutes). The bound is 15 s past the 1 s grace.
    await waitFor('the worker to exit', () => worker.child.exitCode !== null, 45_000, 250);
    expect(worker.child.exitCode).toBe(0);
    expect(worker.output()).toMatch(/Kafka did not answer at shutdown/);
  });
});
