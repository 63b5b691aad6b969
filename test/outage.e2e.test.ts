// Kafka outages: the API keeps accepting tasks while the broker is down, and they run once it is back.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TaskResource } from '@taskwire/contracts';
import {
  api,
  freePort,
  startBrokerProcess,
  startManagerProcess,
  startWorkerProcess,
  tempDir,
  waitFor,
} from './support/processes.js';
import type { BrokerProc } from './support/processes.js';

describe('Kafka outage', () => {
  const tmp = tempDir('outage');
  const procs: BrokerProc[] = [];
  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop('SIGTERM', 10_000);
    tmp.cleanup();
  }, 60_000);

  it('accepts tasks while the broker is down and runs them all once it comes up', async () => {
    const brokerPort = await freePort();
    const brokers = `127.0.0.1:${brokerPort}`;
    // The manager starts with no broker listening: it must still serve and be ready.
    const manager = await startManagerProcess({
      brokers,
      dbType: 'sqlite',
      dsn: path.join(tmp.dir, 'taskwire.db'),
      env: { KAFKA_SESSION_TIMEOUT_MS: '6000' },
    });
    procs.push(manager.proc);
    const http = api(manager.url);
    const template = await http.post<{ id: string }>('/templates', {
      name: `t-${randomUUID()}`,
      executor: 'echo',
    });
    expect(template.status).toBe(201);
    const created: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await http.post<TaskResource>('/tasks', {
        task_template_id: template.body.id,
        params: { i },
      });
      expect(res.status).toBe(201);
      expect(res.body.status).toBe('QUEUED');
      created.push(res.body.id);
    }

    const broker = await startBrokerProcess(path.join(tmp.dir, 'broker'), { port: brokerPort });
    procs.push(broker.proc);
    const worker = await startWorkerProcess(`w-${randomUUID().slice(0, 6)}`, brokers, manager.url, {
      KAFKA_SESSION_TIMEOUT_MS: '6000',
    });
    procs.push(worker);

    const done = await waitFor(
      'every task created during the outage to complete',
      async () => {
        const tasks = await Promise.all(created.map((id) => http.get<TaskResource>(`/tasks/${id}`)));
        return tasks.every((t) => t.body.status === 'COMPLETED') ? tasks : null;
      },
      90_000,
      500,
    );
    done.forEach((t, i) => expect(t.body.result).toEqual({ i }));
  });
});
