// A mixed worker group: the TypeScript worker and the Python reference worker (examples/python-worker) share the dispatch topic.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TaskResource } from '@taskwire/contracts';
import { locateConfluentKafka, requireClient, run } from '../packages/dev-broker/src/testing/clients.js';
import type { ClientTool } from '../packages/dev-broker/src/testing/clients.js';
import {
  api,
  repoRoot,
  startBrokerProcess,
  startWorkerProcess,
  useProcesses,
  waitFor,
} from './support/processes.js';
import type { Proc } from './support/processes.js';
import { createTemplate, listTemplateTasks, taskEvents, TERMINAL_STATUSES } from './support/tasks.js';
import type { Http } from './support/tasks.js';

const SESSION_TIMEOUT_MS = '6000';

/** The Python worker as a Proc (same shape as startNode's), so useProcesses stops it after the suite. */
function startPythonWorker(
  python: string,
  id: string,
  brokers: string,
  env: Record<string, string> = {},
): Proc {
  const child = spawn(python, [path.join(repoRoot, 'examples/python-worker/worker.py')], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      KAFKA_BROKERS: brokers,
      WORKER_ID: id,
      HEARTBEAT_INTERVAL_MS: '1000',
      KAFKA_SESSION_TIMEOUT_MS: SESSION_TIMEOUT_MS,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(line);
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    name: id,
    child,
    output: () => lines.join('\n'),
    exited,
    async stop(signal = 'SIGTERM', graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.kill(signal);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface WorkerRow {
  id: string;
  alive: boolean;
  executors: string[];
}

async function workers(http: Http): Promise<WorkerRow[]> {
  const res = await http.get<{ items: WorkerRow[] } | WorkerRow[]>('/workers');
  return Array.isArray(res.body) ? res.body : res.body.items;
}

async function createMany(http: Http, templateId: string, params: unknown[]): Promise<void> {
  for (let i = 0; i < params.length; i += 500) {
    const tasks = params.slice(i, i + 500).map((p) => ({ task_template_id: templateId, params: p }));
    const res = await http.post<{ results: Array<{ status: number }> }>('/tasks/batch', { tasks });
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBeLessThan(300);
    expect(res.body.results.every((r) => r.status === 201)).toBe(true);
  }
}

async function allTerminal(http: Http, templateId: string, count: number, py: Proc | undefined) {
  return waitFor(
    `${count} tasks of ${templateId} to finish`,
    async () => {
      if (py && py.child.exitCode !== null) throw new Error(`python worker exited:\n${py.output()}`);
      const tasks = await listTemplateTasks(http, templateId);
      return tasks.length === count && tasks.every((t) => TERMINAL_STATUSES.includes(t.status))
        ? tasks
        : null;
    },
    120_000,
    500,
  );
}

describe('python reference worker next to the TypeScript worker', () => {
  const { dir, procs, startManager } = useProcesses('pyworker');
  let confluent: ClientTool;
  beforeAll(async () => {
    confluent = await locateConfluentKafka();
  });

  it('completes 1,000 echo tasks spread over both workers, shows the Python worker in GET /workers and task events, and loses nothing when it is killed -9 mid-load', async (ctx) => {
    requireClient(confluent, ctx);
    const broker = await startBrokerProcess(path.join(dir, 'broker'));
    procs.push(broker.proc);
    const manager = await startManager({
      brokers: broker.brokers,
      env: { KAFKA_SESSION_TIMEOUT_MS: SESSION_TIMEOUT_MS },
    });
    const http = api(manager.url);
    const tsId = `ts-${randomUUID().slice(0, 6)}`;
    const pyId = `py-${randomUUID().slice(0, 6)}`;
    procs.push(
      await startWorkerProcess(tsId, broker.brokers, manager.url, {
        KAFKA_SESSION_TIMEOUT_MS: SESSION_TIMEOUT_MS,
      }),
    );
    const py = startPythonWorker(confluent.bin, pyId, broker.brokers);
    procs.push(py);
    const pyRow = await waitFor(
      `python worker ${pyId} in GET /workers`,
      async () => {
        if (py.child.exitCode !== null) throw new Error(`python worker exited:\n${py.output()}`);
        return (await workers(http)).find((w) => w.id === pyId && w.alive);
      },
      60_000,
    );
    expect([...pyRow.executors].sort()).toEqual(['echo', 'py-echo', 'py-progress', 'sleep']);
    // Heartbeats start before the group join completes: wait until the Python worker owns partitions.
    await waitFor(
      'the python worker to be assigned dispatch partitions',
      () => /"msg": "dispatch partitions assigned", "partitions": \["/.test(py.output()),
      60_000,
    );

    const echo = await createTemplate(http, { executor: 'echo' });
    const params = Array.from({ length: 1000 }, (_, n) => ({ n }));
    await createMany(http, echo.id, params);
    const tasks = await allTerminal(http, echo.id, 1000, py);
    expect(tasks.filter((t) => t.status !== 'COMPLETED')).toEqual([]);
    for (const t of tasks) expect(t.result).toEqual(t.params);
    const byWorker = new Map<string, TaskResource[]>();
    for (const t of tasks) byWorker.set(t.worker_id ?? '', [...(byWorker.get(t.worker_id ?? '') ?? []), t]);
    expect([...byWorker.keys()].sort()).toEqual([pyId, tsId].sort());
    const pyTask = byWorker.get(pyId)![0]!;
    const events = await http.get<{ items: Array<{ type: string }>; attempts: Array<{ worker_id: string }> }>(
      `/tasks/${pyTask.id}/events`,
    );
    expect(events.body.items.map((e) => e.type)).toEqual(['created', 'queued', 'started', 'succeeded']);
    expect(events.body.attempts.map((a) => a.worker_id)).toEqual([pyId]);

    // The progress executor only the Python worker has: its own queue, served by a second Python
    // worker in a group of its own (members of one group must subscribe to the same queues).
    const progress = await createTemplate(http, { executor: 'py-progress', queue: 'py' });
    await createMany(http, progress.id, [{ steps: 3, delay_ms: 10 }]);
    const pyOnly = startPythonWorker(confluent.bin, `${pyId}-q`, broker.brokers, {
      GROUP_ID: 'py-queue-workers',
      WORKER_QUEUES: 'py',
    });
    procs.push(pyOnly);
    const [done] = await allTerminal(http, progress.id, 1, pyOnly);
    expect(done?.status).toBe('COMPLETED');
    expect(done?.result).toEqual({ steps: 3 });
    expect(done?.worker_id).toBe(`${pyId}-q`);
    const progressEvents = (await taskEvents(http, done!.id)).filter((e) => e.type === 'progress');
    expect(progressEvents.length).toBeGreaterThan(0);

    // Phase 2: kill -9 the Python worker while it holds tasks; the TS worker takes its partitions
    // after the session timeout and every task still completes.
    const sleep = await createTemplate(http, { executor: 'sleep', timeout_ms: 60_000 });
    await createMany(
      http,
      sleep.id,
      Array.from({ length: 400 }, () => ({ ms: 50 })),
    );
    await waitFor(
      'the python worker to complete some sleep tasks',
      async () => {
        if (py.child.exitCode !== null) throw new Error(`python worker exited:\n${py.output()}`);
        const now = await listTemplateTasks(http, sleep.id);
        return now.filter((t) => t.worker_id === pyId && t.status === 'COMPLETED').length >= 20;
      },
      60_000,
    );
    py.child.kill('SIGKILL');
    await py.exited;
    const after = await allTerminal(http, sleep.id, 400, undefined);
    expect(after.filter((t) => t.status !== 'COMPLETED')).toEqual([]);
  }, 300_000);

  it("passes the Python worker's own unit tests, which check its messages against docs/schemas", async (ctx) => {
    requireClient(confluent, ctx);
    const res = await run(
      confluent.bin,
      ['-m', 'unittest', 'discover', '-s', path.join(repoRoot, 'examples/python-worker')],
      { env: { PYTHONDONTWRITEBYTECODE: '1' } },
    );
    expect(res.code, res.stderr.slice(-3000)).toBe(0);
    expect(res.stderr).toMatch(/\nOK\b/);
  });
});
