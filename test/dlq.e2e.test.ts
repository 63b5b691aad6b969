// A poisoned dispatch over real processes (broker, manager on MariaDB, worker): dead-lettered by the worker, listed by GET /dlq, fixed, replayed, and the task completes.
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestMysqlDatabase } from '@taskwire/testkit';
import type { TestMysqlDatabase } from '@taskwire/testkit';
import {
  api,
  startBrokerProcess,
  startManagerProcess,
  startWorkerProcess,
  tempDir,
  waitFor,
} from './support/processes.js';
import type { BrokerProcess, LooseJson, Proc } from './support/processes.js';
import { createTask, createTemplate, getTask, waitForStatus } from './support/tasks.js';

describe('dead letters end to end', () => {
  const tmp = tempDir('dlq');
  const procs: Proc[] = [];
  let broker: BrokerProcess | undefined;
  let db: TestMysqlDatabase | undefined;

  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop('SIGTERM', 10_000);
    await broker?.proc.stop();
    await db?.drop();
    tmp.cleanup();
  }, 60_000);

  it('a dispatch the worker cannot decode is dead-lettered, shown by GET /dlq, and once fixed and replayed the task completes', async () => {
    db = await createTestMysqlDatabase();
    // 1. Without Kafka, the task's dispatch waits in the outbox; there it is broken (an empty
    //    executor fails the dispatch schema), as a bug or a bad upgrade could.
    const offline = await startManagerProcess({ dbType: 'mysql', dsn: db.dsn });
    procs.push(offline.proc);
    let http = api(offline.url);
    const template = await createTemplate(http, { name: 'dlq-e2e', executor: 'echo' });
    const task = await createTask(http, { task_template_id: template.id, params: { hello: 'dlq' } });
    expect(task.status).toBe('QUEUED');
    await procs.pop()!.stop('SIGTERM', 10_000);
    const conn = await createConnection(db.dsn);
    try {
      const [rows] = await conn.query('SELECT id, payload FROM outbox WHERE `key` = ?', [task.id]);
      const row = (rows as Array<{ id: number; payload: string }>)[0]!;
      const broken = { ...JSON.parse(row.payload), executor: '' };
      await conn.query('UPDATE outbox SET payload = ? WHERE id = ?', [JSON.stringify(broken), row.id]);
    } finally {
      await conn.end();
    }

    // 2. With Kafka and a worker: the relay publishes it, the worker dead-letters it.
    broker = await startBrokerProcess(path.join(tmp.dir, 'broker'));
    const manager = await startManagerProcess({
      brokers: broker.brokers,
      dbType: 'mysql',
      dsn: db.dsn,
      env: { KAFKA_TOPIC_PARTITIONS: '2' },
    });
    procs.push(manager.proc);
    http = api(manager.url);
    procs.push(await startWorkerProcess('w-dlq', broker.brokers, manager.url));

    const letter: LooseJson = await waitFor(
      'the dead dispatch in GET /dlq',
      async () => {
        const res = await http.get('/dlq?source_topic=task_execution_requests');
        return res.body.items?.[0] ?? null;
      },
      60_000,
      200,
    );
    expect(letter).toMatchObject({
      topic: 'task_execution_requests.dlq',
      key: task.id,
      message: { task_id: task.id, executor: '' },
      raw: null,
      replays: [],
    });
    expect(letter.reason).toContain('executor');
    expect((await getTask(http, task.id)).status).toBe('QUEUED');

    // 3. Replayed as it was it is refused (it fails the schema again); fixed, it runs.
    const coords = { topic: letter.topic, partition: letter.partition, offset: letter.offset };
    const refused = await http.post('/dlq/replay', coords);
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toContainEqual(expect.objectContaining({ path: '/message/executor' }));
    const replay = await http.post('/dlq/replay', {
      ...coords,
      message: { ...letter.message, executor: 'echo' },
    });
    expect(replay.status).toBe(200);
    const done = await waitForStatus(http, task.id, ['COMPLETED', 'FAILED'], 60_000);
    expect(done.status).toBe('COMPLETED');
    expect(done.result).toMatchObject({ hello: 'dlq' });
    const after = await http.get('/dlq');
    expect(after.body.items[0].replays).toEqual([
      { at: expect.any(String), by: null, target_topic: 'task_execution_requests', edited: true },
    ]);
  }, 180_000);
});
