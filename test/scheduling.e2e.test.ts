// Scheduling over real processes: cron across manager replicas, delays, retries with backoff, timeouts, cancel, watchdog.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestMysqlDatabase } from '@taskwire/testkit';
import { DEFAULT_GROUPS, DEFAULT_TOPICS } from '@taskwire/contracts';
import type { TaskEventResource, TaskResource, TemplateResource } from '@taskwire/contracts';
import {
  api,
  repoRoot,
  startBrokerProcess,
  startManagerProcess,
  startWorkerProcess,
  tempDir,
  waitFor,
} from './support/processes.js';
import type { Proc } from './support/processes.js';
import {
  createTask,
  createTemplate,
  getTask,
  groupCaughtUp,
  listTemplateTasks,
  taskEvents,
  TERMINAL_STATUSES,
  waitForStatus,
} from './support/tasks.js';
import type { Http } from './support/tasks.js';

/** Only for tests about the passage of time (a cron window); everything else waits on conditions. */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const fireTimes = (tasks: TaskResource[]): number[] => tasks.map((t) => Date.parse(t.scheduled_for ?? ''));

function expectUniqueFireTimes(tasks: TaskResource[]): void {
  const times = fireTimes(tasks);
  expect(times.every((ms) => Number.isFinite(ms) && ms % 1000 === 0)).toBe(true);
  expect(new Set(times).size, `fire times ${times.map((ms) => new Date(ms).toISOString()).join(', ')}`).toBe(
    tasks.length,
  );
  expect(tasks.every((t) => t.trigger === 'cron')).toBe(true);
}

interface Manager {
  proc: Proc;
  port: number;
  http: Http;
}

interface CronStack {
  managers: [Manager, Manager];
  /** Stops manager `i` with `signal` and starts it again on the same port with `env`. */
  restart(i: 0 | 1, signal: NodeJS.Signals, env: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

/** A dev broker and two managers on one database; no worker (cron tasks only need to be created). */
async function startCronStack(dbType: 'sqlite' | 'mysql'): Promise<CronStack> {
  const tmp = tempDir('scheduling-cron');
  const db = dbType === 'mysql' ? await createTestMysqlDatabase() : null;
  const dsn = db?.dsn ?? path.join(tmp.dir, 'taskwire.db');
  const broker = await startBrokerProcess(path.join(tmp.dir, 'broker'));
  const start = async (env: Record<string, string>, port?: number): Promise<Manager> => {
    const m = await startManagerProcess({ brokers: broker.brokers, dbType, dsn, env, port });
    return { proc: m.proc, port: m.port, http: api(m.url) };
  };
  // One after the other: the first applies the migrations on the fresh database.
  const first = await start({});
  const managers: [Manager, Manager] = [first, await start({})];
  return {
    managers,
    async restart(i, signal, env) {
      await managers[i].proc.stop(signal);
      managers[i] = await start(env, managers[i].port);
    },
    async stop() {
      await Promise.all(managers.map((m) => m.proc.stop()));
      await broker.proc.stop();
      await db?.drop();
      tmp.cleanup();
    },
  };
}

function cronSuite(dbType: 'sqlite' | 'mysql') {
  describe(`cron with two managers on ${dbType}`, () => {
    let stack: CronStack;
    beforeAll(async () => {
      stack = await startCronStack(dbType);
    }, 90_000);
    afterAll(async () => {
      await stack?.stop();
    }, 60_000);

    it('fires a */1 s template once per second while two managers race, and never after it is disabled', async () => {
      const [m1, m2] = stack.managers;
      const template = await createTemplate(m1.http, {
        executor: 'echo',
        cron_expression: '*/1 * * * * *',
        default_params: { from: 'cron' },
      });
      const createdAt = Date.now();
      await sleep(5_000); // the cron window under test
      const put = await m2.http.put<TemplateResource>(`/templates/${template.id}`, { enabled: false });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      expect(put.body.enabled).toBe(false);
      const disabledAt = Date.now();
      await sleep(2_500); // two more fire times and both managers' change polls pass
      const tasks = await listTemplateTasks(m1.http, template.id);
      expectUniqueFireTimes(tasks);
      expect(Math.max(...fireTimes(tasks))).toBeLessThanOrEqual(disabledAt);
      const wholeSeconds = Math.floor(disabledAt / 1000) - Math.floor(createdAt / 1000);
      expect(
        Math.abs(tasks.length - wholeSeconds),
        `${tasks.length} fires in ${wholeSeconds} s`,
      ).toBeLessThanOrEqual(1);
      expect(tasks.every((t) => (t.params as { from?: string }).from === 'cron')).toBe(true);
    });

    it('follows a new expression PUT through the other manager without restart, and stops once deleted', async () => {
      // The first manager now only serves the API: every fire comes from the second, which has to
      // notice the change on its own (its timer for the old expression is a year away).
      await stack.restart(0, 'SIGTERM', { SCHEDULER_ENABLED: '0' });
      const [m1, m2] = stack.managers;
      const template = await createTemplate(m1.http, { executor: 'echo', cron_expression: '0 0 0 1 1 *' });
      const changing = Date.now();
      const put = await m1.http.put<TemplateResource>(`/templates/${template.id}`, {
        cron_expression: '*/2 * * * * *',
      });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      const fired = await waitFor(
        'three fires on the new schedule',
        async () => {
          const tasks = await listTemplateTasks(m2.http, template.id);
          return tasks.length >= 3 ? tasks : null;
        },
        20_000,
        250,
      );
      expectUniqueFireTimes(fired);
      for (const ms of fireTimes(fired)) {
        expect(ms % 2000).toBe(0);
        expect(ms).toBeGreaterThan(changing);
      }

      expect((await m1.http.del(`/templates/${template.id}`)).status).toBe(204);
      const deletedAt = Date.now();
      expect((await m2.http.get(`/templates/${template.id}`)).status).toBe(404);
      await sleep(3_000); // more than one */2 period and the second manager's change poll
      const tasks = await listTemplateTasks(m2.http, template.id);
      expectUniqueFireTimes(tasks);
      expect(Math.max(...fireTimes(tasks))).toBeLessThanOrEqual(deletedAt);
    });

    it('resumes cron after the scheduling manager is killed with SIGKILL and restarted, firing no time twice', async () => {
      const [m1] = stack.managers;
      const template = await createTemplate(m1.http, {
        executor: 'echo',
        cron_expression: '*/1 * * * * *',
        // Catching up the fire missed during the outage must not repeat one made before the kill.
        missed_fire_policy: 'run_once',
      });
      await waitFor(
        'two fires',
        async () => (await listTemplateTasks(m1.http, template.id)).length >= 2,
        20_000,
        250,
      );
      await stack.restart(1, 'SIGKILL', {});
      const restartedAt = Date.now();
      const tasks = await waitFor(
        'two fires after the restart',
        async () => {
          const all = await listTemplateTasks(m1.http, template.id);
          return fireTimes(all).filter((ms) => ms > restartedAt).length >= 2 ? all : null;
        },
        20_000,
        250,
      );
      expectUniqueFireTimes(tasks);
      expect((await m1.http.del(`/templates/${template.id}`)).status).toBe(204);
    });
  });
}

cronSuite('sqlite');
cronSuite('mysql');

describe('task lifecycle timing on sqlite', () => {
  const workerEnv = {
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    // One slot, so a running task keeps the next one QUEUED (the cancel-while-queued case).
    WORKER_CONCURRENCY: '1',
    EXECUTORS: `@taskwire/executors,${path.join(repoRoot, 'examples/executor-plugin/index.js')}`,
  };
  const workers = new Map<string, Proc>();
  let tmp: ReturnType<typeof tempDir>;
  let broker: Awaited<ReturnType<typeof startBrokerProcess>>;
  let manager: Awaited<ReturnType<typeof startManagerProcess>>;
  let http: Http;
  let echo: TemplateResource;
  let sleeper: TemplateResource;

  const addWorker = async (prefix: string): Promise<string> => {
    const id = `${prefix}-${randomUUID().slice(0, 6)}`;
    workers.set(id, await startWorkerProcess(id, broker.brokers, manager.url, workerEnv));
    return id;
  };
  const cancel = (id: string) =>
    http.post<TaskResource & { error?: { code: string } }>(`/tasks/${id}/cancel`);
  const types = (events: TaskEventResource[]) => events.map((e) => e.type);
  const find = (events: TaskEventResource[], attempt: number, type: string): TaskEventResource => {
    const found = events.find((e) => e.attempt === attempt && e.type === type);
    if (!found) throw new Error(`no ${type} event for attempt ${attempt}: ${JSON.stringify(events)}`);
    return found;
  };

  beforeAll(async () => {
    tmp = tempDir('scheduling-lifecycle');
    broker = await startBrokerProcess(path.join(tmp.dir, 'broker'));
    manager = await startManagerProcess({
      brokers: broker.brokers,
      dbType: 'sqlite',
      dsn: path.join(tmp.dir, 'taskwire.db'),
      // The watchdog declares a worker gone 500 ms past a task's deadline (it polls every second).
      env: { TIMEOUT_GRACE_MS: '500' },
    });
    http = api(manager.url);
    await addWorker('w1');
    echo = await createTemplate(http, { executor: 'echo' });
    sleeper = await createTemplate(http, { executor: 'sleep', timeout_ms: 60_000 });
  }, 90_000);
  afterAll(async () => {
    await Promise.all([...workers.values()].map((w) => w.stop('SIGTERM', 10_000)));
    await manager?.proc.stop();
    await broker?.proc.stop();
    tmp?.cleanup();
  }, 60_000);

  it('retries a flaky task with growing backoff until its 3rd attempt succeeds', async () => {
    const template = await createTemplate(http, {
      executor: 'flaky',
      max_attempts: 3,
      backoff: { initial_ms: 300, factor: 4, max_ms: 10_000, jitter: 0 },
    });
    const created = await createTask(http, {
      task_template_id: template.id,
      params: { succeed_on_attempt: 3 },
    });
    const task = await waitForStatus(http, created.id, TERMINAL_STATUSES);
    expect(task.status).toBe('COMPLETED');
    expect(task.attempt).toBe(3);
    expect(task.result).toEqual({ attempt: 3 });

    const events = await taskEvents(http, created.id);
    for (const attempt of [1, 2]) {
      find(events, attempt, 'started');
      find(events, attempt, 'failed');
      const retry = find(events, attempt, 'retry_scheduled');
      // The next attempt is queued no earlier than the retry was scheduled for.
      const nextAt = Date.parse((retry.data as { next_attempt_at: string }).next_attempt_at);
      expect(Date.parse(find(events, attempt + 1, 'queued').at)).toBeGreaterThanOrEqual(nextAt);
    }
    find(events, 3, 'succeeded');
    expect(events.filter((e) => e.type === 'failed')).toHaveLength(2);
    const gapBefore = (attempt: number): number =>
      Date.parse(find(events, attempt, 'started').at) - Date.parse(find(events, attempt - 1, 'failed').at);
    expect(gapBefore(2)).toBeGreaterThanOrEqual(300);
    expect(gapBefore(3)).toBeGreaterThanOrEqual(1200);
    expect(gapBefore(3)).toBeGreaterThan(gapBefore(2));
  });

  it('times out a task sleeping past timeout_ms, retries it once, then leaves it TIMED_OUT', async () => {
    const template = await createTemplate(http, {
      executor: 'sleep',
      timeout_ms: 300,
      max_attempts: 2,
      backoff: { initial_ms: 100, factor: 2, max_ms: 1000, jitter: 0 },
    });
    const created = await createTask(http, { task_template_id: template.id, params: { ms: 5000 } });
    const task = await waitForStatus(http, created.id, TERMINAL_STATUSES);
    expect(task.status).toBe('TIMED_OUT');
    expect(task.attempt).toBe(2);
    const events = await taskEvents(http, created.id);
    const timedOut = events.filter((e) => e.type === 'timed_out');
    expect(new Set(timedOut.map((e) => e.attempt))).toEqual(new Set([1, 2]));
    find(events, 1, 'retry_scheduled');
    expect(types(events)).not.toContain('succeeded');
  });

  it('cancels a PENDING task at once, and it never runs', async () => {
    const runAt = new Date(Date.now() + 1500).toISOString();
    const doomed = await createTask(http, { task_template_id: echo.id, params: { n: 1 }, run_at: runAt });
    const witness = await createTask(http, { task_template_id: echo.id, params: { n: 2 }, run_at: runAt });
    expect(doomed.status).toBe('PENDING');
    const res = await cancel(doomed.id);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('CANCELED');
    // The witness was due at the same instant: once it has run, the canceled one had its chance.
    await waitForStatus(http, witness.id, 'COMPLETED');
    expect((await getTask(http, doomed.id)).status).toBe('CANCELED');
    const events = types(await taskEvents(http, doomed.id));
    expect(events).toContain('canceled');
    expect(events).not.toContain('queued');
    expect(events).not.toContain('started');
  });

  it('cancels a QUEUED task at once, and the busy worker skips it when it gets there', async () => {
    const blocker = await createTask(http, { task_template_id: sleeper.id, params: { ms: 5000 } });
    await waitForStatus(http, blocker.id, 'RUNNING');
    const queued = await createTask(http, { task_template_id: echo.id, params: { n: 3 } });
    expect(queued.status).toBe('QUEUED');
    const res = await cancel(queued.id);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('CANCELED');

    await waitForStatus(http, blocker.id, 'COMPLETED');
    // The worker commits a dispatch only after publishing its result: caught up = it handled ours.
    await waitFor('the workers to handle every dispatch', () =>
      groupCaughtUp(broker.brokers, DEFAULT_GROUPS.workers, DEFAULT_TOPICS.dispatch),
    );
    expect((await getTask(http, queued.id)).status).toBe('CANCELED');
    const events = await taskEvents(http, queued.id);
    expect(types(events)).not.toContain('started');
    // A worker that had run it would have reported `started`, recorded as ignored on a CANCELED task.
    const ignored = events.filter((e) => e.type === 'ignored');
    expect(ignored.map((e) => (e.data as { result_type?: string }).result_type)).not.toContain('started');
  });

  it('cancels a RUNNING task through the control topic: the worker aborts it and reports canceled', async () => {
    const created = await createTask(http, { task_template_id: sleeper.id, params: { ms: 60_000 } });
    const running = await waitForStatus(http, created.id, 'RUNNING');
    const res = await cancel(created.id);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const task = await waitForStatus(http, created.id, TERMINAL_STATUSES, 20_000);
    expect(task.status).toBe('CANCELED');
    // Ended by the abort signal, not by the 60 s sleep running out.
    expect(Date.parse(task.finished_at ?? '')).toBeLessThan(Date.parse(task.started_at ?? '') + 60_000);
    const events = await taskEvents(http, created.id);
    find(events, 1, 'cancel_requested');
    expect(find(events, 1, 'canceled').worker_id).toBe(running.worker_id);
    expect(types(events)).not.toContain('succeeded');
  });

  it('refuses to cancel a COMPLETED task with 409', async () => {
    const created = await createTask(http, { task_template_id: echo.id, params: { n: 4 } });
    await waitForStatus(http, created.id, 'COMPLETED');
    const res = await cancel(created.id);
    expect(res.status).toBe(409);
    expect(res.body.error?.code).toBe('invalid_transition');
    expect((await getTask(http, created.id)).status).toBe('COMPLETED');
  });

  it('keeps a delayed task PENDING until its run_at and starts it no earlier', async () => {
    const runAt = new Date(Date.now() + 2000);
    const created = await createTask(http, {
      task_template_id: echo.id,
      params: { n: 5 },
      run_at: runAt.toISOString(),
    });
    expect(created.status).toBe('PENDING');
    expect(Date.parse(created.run_at ?? '')).toBe(runAt.getTime());
    const task = await waitForStatus(http, created.id, TERMINAL_STATUSES);
    expect(task.status).toBe('COMPLETED');
    expect(Date.parse(task.queued_at ?? '')).toBeGreaterThanOrEqual(runAt.getTime());
    expect(Date.parse(task.started_at ?? '')).toBeGreaterThanOrEqual(runAt.getTime());
  });

  it('lets the watchdog time out a task whose worker was SIGKILLed, and retries it on another worker', async () => {
    await addWorker('w2');
    const template = await createTemplate(http, {
      executor: 'sleep',
      timeout_ms: 3500,
      max_attempts: 4,
      backoff: { initial_ms: 100, factor: 1, max_ms: 100, jitter: 0 },
    });
    const created = await createTask(http, { task_template_id: template.id, params: { ms: 2500 } });
    const running = await waitForStatus(http, created.id, ['RUNNING', ...TERMINAL_STATUSES]);
    expect(running.status, 'the task finished before its worker could be killed').toBe('RUNNING');
    const victimId = running.worker_id ?? '';
    const victim = workers.get(victimId);
    expect(victim, `worker ${victimId} runs the task`).toBeDefined();
    victim!.child.kill('SIGKILL');
    await victim!.exited;
    workers.delete(victimId);
    const [survivorId] = [...workers.keys()];

    // Either the watchdog (3.5 s + 0.5 s grace) or, after the rebalance (6 s session), the survivor
    // finding attempt 1 past its deadline times it out; a later attempt then runs on the survivor.
    const task = await waitForStatus(http, created.id, TERMINAL_STATUSES, 60_000);
    const events = await taskEvents(http, created.id);
    const trail = events.map((e) => `${e.attempt}:${e.type}:${e.worker_id ?? '-'}`).join(', ');
    expect(['COMPLETED', 'TIMED_OUT'], trail).toContain(task.status);
    expect(find(events, 1, 'started').worker_id).toBe(victimId);
    const timedOut1 = find(events, 1, 'timed_out');
    const by = (timedOut1.data as { by?: string }).by;
    expect(by === 'watchdog' || timedOut1.worker_id === survivorId, trail).toBe(true);
    find(events, 1, 'retry_scheduled');
    const laterStarts = events.filter((e) => e.type === 'started' && e.attempt > 1);
    expect(laterStarts.length, trail).toBeGreaterThan(0);
    expect(
      laterStarts.every((e) => e.worker_id === survivorId),
      trail,
    ).toBe(true);
    if (task.status === 'COMPLETED') {
      expect(task.worker_id).toBe(survivorId);
      expect(task.attempt).toBeGreaterThan(1);
    }
  });
});
