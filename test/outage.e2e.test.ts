// Kafka outages: the API keeps accepting tasks while the broker is down, and they run once it is back.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TaskResource } from '@taskwire/contracts';
import {
  api,
  freePort,
  startBrokerProcess,
  startWorkerProcess,
  useProcesses,
  waitFor,
} from './support/processes.js';

describe('Kafka outage', () => {
  const { dir, procs, startManager } = useProcesses('outage');

  it('accepts tasks while the broker is down and runs them all once it comes up', async () => {
    const brokerPort = await freePort();
    const brokers = `127.0.0.1:${brokerPort}`;
    // The manager starts with no broker listening: it must still serve and be ready.
    const manager = await startManager({ brokers, env: { KAFKA_SESSION_TIMEOUT_MS: '6000' } });
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

    const broker = await startBrokerProcess(path.join(dir, 'broker'), { port: brokerPort });
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
