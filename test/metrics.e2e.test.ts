// GET /metrics over real processes (dev broker, manager on SQLite, one worker with METRICS_ADDR): counters move by exactly what ran.
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  freePort,
  startBrokerProcess,
  startManagerProcess,
  startWorkerProcess,
  tempDir,
  waitFor,
} from './support/processes.js';
import type { BrokerProcess, Proc } from './support/processes.js';
import { parseExposition, samples, total } from './support/prometheus.js';
import type { Exposition } from './support/prometheus.js';
import { createTask, createTemplate, waitForStatus } from './support/tasks.js';
import type { Http } from './support/tasks.js';

describe('GET /metrics on the manager and the worker', () => {
  const tmp = tempDir('metrics');
  let broker: BrokerProcess;
  let manager: { proc: Proc; url: string };
  let worker: Proc;
  let metricsUrl: string;
  let http: Http;

  beforeAll(async () => {
    broker = await startBrokerProcess(path.join(tmp.dir, 'broker'));
    manager = await startManagerProcess({
      brokers: broker.brokers,
      dbType: 'sqlite',
      dsn: path.join(tmp.dir, 'taskwire.db'),
      // Without API_TOKENS on loopback: the scope of /metrics is pinned by http/auth.int.test.ts.
      env: { KAFKA_TOPIC_PARTITIONS: '3' },
    });
    http = api(manager.url);
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    worker = await startWorkerProcess(`w-${randomUUID().slice(0, 6)}`, broker.brokers, manager.url, {
      METRICS_ADDR: `127.0.0.1:${port}`,
      WORKER_CONCURRENCY: '4',
    });
  }, 90_000);

  afterAll(async () => {
    await worker?.stop('SIGTERM', 10_000);
    await manager?.proc.stop();
    await broker?.proc.stop();
    tmp.cleanup();
  });

  async function scrapeManager(): Promise<Exposition> {
    const res = await fetch(`${manager.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return parseExposition(await res.text());
  }

  async function scrapeWorker(): Promise<Exposition> {
    const res = await fetch(metricsUrl);
    expect(res.status).toBe(200);
    return parseExposition(await res.text());
  }

  it('counters move by exactly the tasks created, finished, dispatched and run', async () => {
    const echo = await createTemplate(http, { executor: 'echo' });
    const sleep = await createTemplate(http, { executor: 'sleep', max_attempts: 1 });
    const managerBefore = await scrapeManager();
    const workerBefore = await scrapeWorker();

    // 5 echo tasks (3 single, one batch of 2), 1 sleep task that times out, 1 delayed one canceled.
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await createTask(http, { task_template_id: echo.id, params: { i } })).id);
    const batch = await http.post<{ results: Array<{ task: { id: string } }> }>('/tasks/batch', {
      tasks: [
        { task_template_id: echo.id, params: { i: 3 } },
        { task_template_id: echo.id, params: { i: 4 } },
      ],
    });
    expect(batch.status).toBe(200);
    ids.push(...batch.body.results.map((r) => r.task.id));
    const slow = await createTask(http, {
      task_template_id: sleep.id,
      params: { ms: 60_000 },
      timeout_ms: 300,
    });
    const later = await createTask(http, {
      task_template_id: echo.id,
      run_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect((await http.post(`/tasks/${later.id}/cancel`)).status).toBe(200);
    for (const id of ids) await waitForStatus(http, id, 'COMPLETED');
    await waitForStatus(http, slow.id, 'TIMED_OUT');

    const after = await scrapeManager();
    const delta = (name: string, labels: Record<string, string> = {}): number =>
      total(after, name, labels) - total(managerBefore, name, labels);
    const echoLabels = { template: echo.name, queue: 'default' };
    const sleepLabels = { template: sleep.name, queue: 'default' };

    expect(delta('taskwire_tasks_created_total', echoLabels)).toBe(6);
    expect(delta('taskwire_tasks_created_total', sleepLabels)).toBe(1);
    expect(delta('taskwire_tasks_finished_total', { ...echoLabels, status: 'COMPLETED' })).toBe(5);
    expect(delta('taskwire_tasks_finished_total', { ...echoLabels, status: 'CANCELED' })).toBe(1);
    expect(delta('taskwire_tasks_finished_total', { ...sleepLabels, status: 'TIMED_OUT' })).toBe(1);
    expect(delta('taskwire_tasks_finished_total')).toBe(7);
    // Runs: the 5 echo tasks and the sleep task ran; the canceled one never started.
    expect(delta('taskwire_task_run_duration_seconds', { queue: 'default', status: 'COMPLETED' })).toBe(5);
    expect(delta('taskwire_task_run_duration_seconds', { queue: 'default', status: 'TIMED_OUT' })).toBe(1);
    expect(delta('taskwire_task_queue_wait_seconds', { queue: 'default' })).toBe(6);
    // 6 dispatches; the canceled task was PENDING, so no control message.
    expect(delta('taskwire_relay_published_messages_total')).toBe(6);
    expect(delta('taskwire_relay_publish_seconds')).toBeGreaterThanOrEqual(1);
    expect(delta('taskwire_results_applied_messages_total')).toBeGreaterThanOrEqual(6);
    expect(delta('taskwire_result_apply_seconds')).toBeGreaterThanOrEqual(1);
    expect(
      delta('taskwire_http_request_duration_seconds', { method: 'POST', route: '/tasks', status: '201' }),
    ).toBe(5);
    expect(
      delta('taskwire_http_request_duration_seconds', {
        method: 'POST',
        route: '/tasks/batch',
        status: '200',
      }),
    ).toBe(1);
    expect(
      delta('taskwire_http_request_duration_seconds', {
        method: 'POST',
        route: '/tasks/:id/cancel',
        status: '200',
      }),
    ).toBe(1);
    expect(total(after, 'taskwire_outbox_backlog')).toBe(0);
    expect(total(after, 'taskwire_workers_alive')).toBe(1);
    // No task id ever becomes a label value.
    const allLabelValues = after.samples.flatMap((s) => Object.values(s.labels));
    for (const id of [...ids, slow.id, later.id]) expect(allLabelValues).not.toContain(id);

    const workerAfter = await scrapeWorker();
    const workerDelta = (name: string, labels: Record<string, string> = {}): number =>
      total(workerAfter, name, labels) - total(workerBefore, name, labels);
    expect(
      workerDelta('taskwire_worker_executor_duration_seconds', { executor: 'echo', outcome: 'succeeded' }),
    ).toBe(5);
    expect(
      workerDelta('taskwire_worker_executor_duration_seconds', { executor: 'sleep', outcome: 'timed_out' }),
    ).toBe(1);
    expect(workerDelta('taskwire_worker_fetch_to_start_seconds')).toBe(6);
    expect(total(workerAfter, 'taskwire_worker_running_tasks')).toBe(0);
    expect(workerAfter.families.get('process_cpu_seconds_total')?.type).toBe('COUNTER');
    expect(workerAfter.families.get('nodejs_heap_size_used_bytes')?.type).toBe('GAUGE');
  }, 60_000);

  it('shows the workers group lag per queue partition, 0 once every dispatch is committed', async () => {
    const echo = await createTemplate(http, { executor: 'echo' });
    const task = await createTask(http, { task_template_id: echo.id, params: {} });
    await waitForStatus(http, task.id, 'COMPLETED');
    // The worker commits after publishing its result, and the manager caches the reading for 5 s.
    const lag = await waitFor(
      'the consumer lag of every default partition to read 0',
      async () => {
        const rows = samples(await scrapeManager(), 'taskwire_worker_consumer_lag', { queue: 'default' });
        return rows.length === 3 && rows.every((r) => r.value === 0) ? rows : null;
      },
      30_000,
      500,
    );
    expect(lag.map((r) => r.labels.partition).sort()).toEqual(['0', '1', '2']);
  }, 60_000);
  it('counts cron fires: their tasks by template, and how late each fired', async () => {
    const before = await scrapeManager();
    const cron = await createTemplate(http, { executor: 'echo', cron_expression: '* * * * * *' });
    const labels = { template: cron.name, queue: 'default' };
    const after = await waitFor(
      'two cron fires',
      async () => {
        const now = await scrapeManager();
        return total(now, 'taskwire_tasks_created_total', labels) >= 2 ? now : null;
      },
      30_000,
      200,
    );
    expect((await http.del(`/templates/${cron.id}`)).status).toBe(204);
    const fires = total(after, 'taskwire_tasks_created_total', labels);
    expect(
      total(after, 'taskwire_cron_fire_lateness_seconds') -
        total(before, 'taskwire_cron_fire_lateness_seconds'),
    ).toBe(fires);
  }, 60_000);
});
