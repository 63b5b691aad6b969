// The broker killed with SIGKILL mid-load and started again on its data: no task is lost, none stays stuck.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerTraits } from '@taskwire/testkit';
import {
  api,
  startBrokerProcess,
  startManagerProcess,
  startWorkerProcess,
  tempDir,
  waitFor,
} from './support/processes.js';
import type { BrokerProcess, Proc } from './support/processes.js';
import { createTemplate, listTemplateTasks } from './support/tasks.js';
import type { Http } from './support/tasks.js';

const env = { KAFKA_SESSION_TIMEOUT_MS: '6000' };

describe('broker crash', () => {
  const tmp = tempDir('broker-crash');
  let broker: BrokerProcess;
  let manager: Awaited<ReturnType<typeof startManagerProcess>>;
  const workers: Proc[] = [];
  let http: Http;

  beforeAll(async () => {
    broker = await startBrokerProcess(path.join(tmp.dir, 'broker'));
    manager = await startManagerProcess({
      brokers: broker.brokers,
      dbType: 'sqlite',
      dsn: path.join(tmp.dir, 'taskwire.db'),
      env,
    });
    http = api(manager.url);
    for (const n of [1, 2]) {
      const id = `w${n}-${randomUUID().slice(0, 6)}`;
      workers.push(await startWorkerProcess(id, broker.brokers, manager.url, env));
    }
  }, brokerTraits.startMs + 60_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGTERM', 10_000)));
    await manager?.proc.stop();
    await broker?.proc.stop();
    tmp.cleanup();
  }, 60_000);

  async function createBatch(templateId: string, count: number): Promise<void> {
    const res = await http.post('/tasks/batch', {
      tasks: Array.from({ length: count }, () => ({ task_template_id: templateId, params: { ms: 20 } })),
    });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
  }

  it(
    'completes every task, including those created while it was down, once it is back',
    async () => {
      const template = await createTemplate(http, { executor: 'sleep', timeout_ms: 120_000 });
      await createBatch(template.id, 200);
      await waitFor('some tasks to complete', async () => {
        const tasks = await listTemplateTasks(http, template.id);
        return tasks.filter((t) => t.status === 'COMPLETED').length >= 20;
      });

      await broker.kill();
      await createBatch(template.id, 50); // the API keeps accepting work while Kafka is gone
      await broker.start();

      const tasks = await waitFor(
        'all 250 tasks to complete after the broker restart',
        async () => {
          for (const w of workers)
            if (w.child.exitCode !== null) throw new Error(`${w.name} exited:\n${w.output()}`);
          const all = await listTemplateTasks(http, template.id);
          return all.length === 250 && all.every((t) => t.status === 'COMPLETED') ? all : null;
        },
        brokerTraits.restartAfterKillMs + 120_000,
        500,
      );
      expect(new Set(tasks.map((t) => t.id)).size).toBe(250);
    },
    brokerTraits.restartAfterKillMs + 180_000,
  );
});
