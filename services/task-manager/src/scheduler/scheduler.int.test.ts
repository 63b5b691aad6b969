// Cron scheduler and due loop on real stores: exactly-once fires across replicas, live changes, delays.
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Clock } from '../domain/clock.js';
import { systemClock } from '../domain/clock.js';
import type { DomainDeps, Signals } from '../domain/deps.js';
import { noSignals } from '../domain/deps.js';
import { DEFAULT_BACKOFF } from '../domain/retry.js';
import type { Store, TaskRecord, TemplateRecord } from '../store/types.js';
import { makeTask, makeTemplate } from '../store/contract/fixtures.js';
import { DIALECTS, createTestDatabase } from '../testing/stores.js';
import type { Dialect } from '../testing/stores.js';
import { createCronScheduler } from './cron-scheduler.js';
import type { CronScheduler } from './cron-scheduler.js';
import { createDueLoop } from './due-loop.js';

const logger = pino({ level: 'silent' });
const settings = { dispatchTopic: 'dispatch', controlTopic: 'control' };

/** Runs at teardown, last registered first. */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

interface Db {
  /** Opens one more store on the same database, as another replica would. */
  open(): Promise<Store>;
}

/** A new database of `dialect`, removed after the test; `open` migrates each store it opens. */
async function testDb(dialect: Dialect): Promise<Db> {
  const db = await createTestDatabase(dialect);
  cleanups.push(() => db.cleanup());
  return {
    async open() {
      const store = db.open();
      await store.migrate();
      return store;
    },
  };
}

function deps(store: Store, clock: Clock = systemClock, signals: Signals = noSignals): DomainDeps {
  return { store, clock, logger, settings, signals };
}

function templateRecord(patch: Partial<TemplateRecord> = {}): TemplateRecord {
  const now = new Date();
  return makeTemplate({
    defaultParams: { hello: 'cron' },
    backoff: DEFAULT_BACKOFF,
    timeoutMs: 60_000,
    createdAt: now,
    updatedAt: now,
    ...patch,
  });
}

function taskRecord(template: TemplateRecord, patch: Partial<TaskRecord> = {}): TaskRecord {
  const now = new Date();
  return makeTask({
    templateId: template.id,
    name: template.name,
    queue: template.queue,
    params: { n: 1 },
    status: 'PENDING',
    timeoutMs: 60_000,
    createdAt: now,
    queuedAt: null,
    updatedAt: now,
    ...patch,
  });
}

async function tasksOf(store: Store, templateId: string): Promise<TaskRecord[]> {
  const tasks = await store.listTasks({ templateId, limit: 1_000 });
  return tasks.sort((a, b) => (a.scheduledFor?.getTime() ?? 0) - (b.scheduledFor?.getTime() ?? 0));
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | false | null | undefined>,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until every scheduler has moved past `instant` (its timers look beyond it). */
function waitPast(schedulers: CronScheduler[], templateId: string, instant: Date): Promise<true> {
  return waitFor(`schedulers past ${instant.toISOString()}`, async () =>
    schedulers.every((s) => {
      const entry = s.armed().find((a) => a.templateId === templateId);
      return !entry || (entry.nextFire !== null && entry.nextFire > instant);
    }),
  );
}

function startCron(store: Store, pollMs = 200, clock?: Clock): Promise<CronScheduler> {
  const scheduler = createCronScheduler({ ...deps(store, clock), pollMs });
  cleanups.push(() => scheduler.stop());
  return scheduler.start().then(() => scheduler);
}

describe.each(DIALECTS)('cron fires on %s', (dialect) => {
  it('two replicas on one database create exactly one task per fire time', async () => {
    const db = await testDb(dialect);
    const [a, b] = [await db.open(), await db.open()];
    const template = templateRecord({ cronExpression: '*/1 * * * * *' });
    await a.insertTemplate(template);
    const started = new Date();
    const replicas = [await startCron(a), await startCron(b)];

    await waitFor('5 cron tasks', async () => (await tasksOf(a, template.id)).length >= 5);
    await Promise.all(replicas.map((r) => r.stop()));

    const tasks = await tasksOf(a, template.id);
    const fireTimes = tasks.map((t) => t.scheduledFor?.getTime() ?? 0);
    expect(new Set(fireTimes).size).toBe(tasks.length);
    expect(fireTimes[0]).toBeGreaterThan(started.getTime() - 1_000);
    // Consecutive seconds: no fire was missed either.
    fireTimes.forEach((t, i) => i > 0 && expect(t - (fireTimes[i - 1] ?? 0)).toBe(1_000));
    for (const task of tasks) {
      expect(task).toMatchObject({
        status: 'QUEUED',
        trigger: 'cron',
        attempt: 1,
        params: { hello: 'cron' },
      });
      expect((await a.listEvents(task.id)).map((e) => e.type)).toEqual(['created', 'queued']);
    }
    const outbox = await a.listUnsentOutbox(1_000);
    expect(outbox.map((o) => o.key).sort()).toEqual(tasks.map((t) => t.id).sort());
    expect(outbox.every((o) => o.topic === 'dispatch')).toBe(true);
  });

  it('two replicas start exactly one workflow per fire of a workflow template', async () => {
    const db = await testDb(dialect);
    const [a, b] = [await db.open(), await db.open()];
    const step = templateRecord();
    await a.insertTemplate(step);
    const template = templateRecord({
      executor: 'workflow',
      cronExpression: '*/1 * * * * *',
      workflow: {
        steps: [
          { key: 'first', template_name: step.name },
          { key: 'second', task_template_id: step.id, depends_on: ['first'] },
        ],
        on_failure: 'continue',
      },
    });
    await a.insertTemplate(template);
    const replicas = [await startCron(a), await startCron(b)];
    const started = async () =>
      (await a.listWorkflows({ limit: 1_000 })).filter((w) => w.workflowTemplateId === template.id);
    await waitFor('3 cron workflows', async () => (await started()).length >= 3);
    await Promise.all(replicas.map((r) => r.stop()));

    const workflows = (await started()).sort(
      (x, y) => (x.scheduledFor?.getTime() ?? 0) - (y.scheduledFor?.getTime() ?? 0),
    );
    const fireTimes = workflows.map((w) => w.scheduledFor?.getTime() ?? 0);
    expect(new Set(fireTimes).size).toBe(workflows.length);
    fireTimes.forEach((t, i) => i > 0 && expect(t - (fireTimes[i - 1] ?? 0)).toBe(1_000));
    for (const w of workflows) {
      expect(w).toMatchObject({
        name: template.name,
        status: 'RUNNING',
        onFailure: 'continue',
        stepsTotal: 2,
      });
      const steps = await a.listWorkflowSteps(w.id);
      const tasks = await a.getTasks(steps.map((s) => s.taskId));
      expect(tasks.map((t) => [t.status, t.trigger, t.templateId]).sort()).toEqual([
        ['PENDING', 'cron', step.id],
        ['QUEUED', 'cron', step.id],
      ]);
    }
    // The workflow template itself has no tasks: its fires are workflows.
    expect(await tasksOf(a, template.id)).toEqual([]);
  });
});

describe('cron templates change live (sqlite)', () => {
  it('a new expression, then disabling and deleting, take effect on a replica that only polls', async () => {
    const db = await testDb('sqlite');
    const [a, b] = [await db.open(), await db.open()];
    const template = templateRecord({ cronExpression: '0 0 0 1 1 *' });
    await a.insertTemplate(template);
    const replicas = [await startCron(a), await startCron(b)];

    // Changed through store A with no signal to anyone: both replicas notice through templatesVersion.
    await a.updateTemplate(template.id, { cronExpression: '*/1 * * * * *', updatedAt: new Date() });
    await waitFor('2 cron tasks after the change', async () => (await tasksOf(a, template.id)).length >= 2);

    await a.updateTemplate(template.id, { enabled: false, updatedAt: new Date() });
    await waitFor('both replicas to drop the template', async () =>
      replicas.every((r) => !r.armed().some((e) => e.templateId === template.id)),
    );
    const whenDisabled = (await tasksOf(a, template.id)).length;
    await new Promise((r) => setTimeout(r, 1_200));
    expect((await tasksOf(a, template.id)).length).toBe(whenDisabled);

    await a.updateTemplate(template.id, { enabled: true, updatedAt: new Date() });
    await waitFor(
      'fires again once re-enabled',
      async () => (await tasksOf(a, template.id)).length > whenDisabled,
    );
    await a.deleteTemplate(template.id, new Date());
    await waitFor('both replicas to drop the deleted template', async () =>
      replicas.every((r) => !r.armed().some((e) => e.templateId === template.id)),
    );
    const whenDeleted = (await tasksOf(a, template.id)).length;
    await new Promise((r) => setTimeout(r, 1_200));
    expect((await tasksOf(a, template.id)).length).toBe(whenDeleted);
  });

  it('refresh() picks up a new template at once, without waiting for a poll', async () => {
    const db = await testDb('sqlite');
    const store = await db.open();
    const scheduler = await startCron(store, 60_000);
    const template = templateRecord({ cronExpression: '*/1 * * * * *' });
    await store.insertTemplate(template);
    await scheduler.refresh();
    expect(scheduler.armed().map((e) => e.templateId)).toEqual([template.id]);
    await waitFor('a cron task', async () => (await tasksOf(store, template.id)).length >= 1);
  });

  it('run_once catches up exactly the latest missed fire after a restart; skip catches up none', async () => {
    const db = await testDb('sqlite');
    const store = await db.open();
    // A frozen clock: timers then wait ~30 s for the next fire, so only the catch-up can create tasks.
    let now = new Date('2024-01-01T00:10:30Z');
    const clock: Clock = { now: () => now };
    const created = new Date('2024-01-01T00:00:00Z');
    const everyMinute = { cronExpression: '0 * * * * *', createdAt: created, updatedAt: created };
    const runOnce = templateRecord({ ...everyMinute, missedFirePolicy: 'run_once' });
    const skip = templateRecord({ ...everyMinute, missedFirePolicy: 'skip' });
    await store.insertTemplate(runOnce);
    await store.insertTemplate(skip);
    const last = new Date('2024-01-01T00:05:00Z');
    await store.insertTasks([
      taskRecord(runOnce, { status: 'COMPLETED', trigger: 'cron', scheduledFor: last }),
    ]);

    const scheduler = createCronScheduler({ ...deps(store, clock), pollMs: 60_000 });
    cleanups.push(() => scheduler.stop());
    await scheduler.start();
    let tasks = await tasksOf(store, runOnce.id);
    expect(tasks.map((t) => t.scheduledFor?.toISOString())).toEqual([
      last.toISOString(),
      '2024-01-01T00:10:00.000Z',
    ]);
    expect(tasks[1]).toMatchObject({ status: 'QUEUED', trigger: 'cron' });

    // "Restart" three minutes later: one task for 00:13, none for 00:11 and 00:12.
    await scheduler.stop();
    now = new Date('2024-01-01T00:13:30Z');
    await scheduler.start();
    tasks = await tasksOf(store, runOnce.id);
    expect(tasks.map((t) => t.scheduledFor?.toISOString()).slice(1)).toEqual([
      '2024-01-01T00:10:00.000Z',
      '2024-01-01T00:13:00.000Z',
    ]);
    // A restart with nothing missed catches up nothing.
    await scheduler.stop();
    await scheduler.start();
    expect(await tasksOf(store, runOnce.id)).toHaveLength(3);
    expect(await tasksOf(store, skip.id)).toHaveLength(0);
  });

  it('overlap_policy skip creates no task while the previous one is in flight', async () => {
    const db = await testDb('sqlite');
    const store = await db.open();
    const template = templateRecord({ cronExpression: '*/1 * * * * *', overlapPolicy: 'skip' });
    await store.insertTemplate(template);
    const scheduler = await startCron(store, 60_000);

    const [first] = await waitFor('the first cron task', async () => {
      const tasks = await tasksOf(store, template.id);
      return tasks.length > 0 && tasks;
    });
    // Two more fire times pass while the first task is still QUEUED.
    await waitPast([scheduler], template.id, new Date((first?.scheduledFor?.getTime() ?? 0) + 2_000));
    expect(await tasksOf(store, template.id)).toHaveLength(1);

    await store.updateTask(first?.id ?? '', { status: 'COMPLETED', finishedAt: new Date() });
    await waitFor(
      'a task once the first finished',
      async () => (await tasksOf(store, template.id)).length === 2,
    );
  });

  it('overlap_policy skip starts no workflow of a workflow template while the previous one runs', async () => {
    const db = await testDb('sqlite');
    const store = await db.open();
    const step = templateRecord();
    await store.insertTemplate(step);
    const template = templateRecord({
      executor: 'workflow',
      cronExpression: '*/1 * * * * *',
      overlapPolicy: 'skip',
      workflow: { steps: [{ key: 'only', task_template_id: step.id }] },
    });
    await store.insertTemplate(template);
    const scheduler = await startCron(store, 60_000);
    const started = async () => store.listWorkflows({ workflowTemplateId: template.id, limit: 100 });
    const [first] = await waitFor('the first cron workflow', async () => {
      const list = await started();
      return list.length > 0 && list;
    });
    await waitPast([scheduler], template.id, new Date((first?.scheduledFor?.getTime() ?? 0) + 2_000));
    expect(await started()).toHaveLength(1);

    await store.updateWorkflow(first?.id ?? '', { status: 'COMPLETED', finishedAt: new Date() });
    await waitFor('a workflow once the first finished', async () => (await started()).length === 2);
  });
});

describe('due loop (sqlite)', () => {
  it('queues delayed and retrying tasks no earlier than they are due, even if their template was deleted', async () => {
    const db = await testDb('sqlite');
    const store = await db.open();
    const template = templateRecord();
    const gone = templateRecord();
    await store.insertTemplate(template);
    await store.insertTemplate(gone);
    const soon = (ms: number): Date => new Date(Date.now() + ms);
    const delayed = [taskRecord(template, { runAt: soon(300) }), taskRecord(template, { runAt: soon(700) })];
    const retrying = taskRecord(gone, {
      status: 'RETRYING',
      nextAttemptAt: soon(500),
      finishedAt: new Date(),
    });
    const later = taskRecord(template, { runAt: soon(3_600_000) });
    await store.insertTasks([...delayed, retrying, later]);
    await store.deleteTemplate(gone.id, new Date());

    const loop = createDueLoop({ ...deps(store), maxSleepMs: 60_000 });
    cleanups.push(() => loop.stop());
    loop.start();
    const ids = [...delayed, retrying].map((t) => t.id);
    const done = await waitFor('3 queued tasks', async () => {
      const tasks = await store.getTasks(ids);
      return tasks.every((t) => t.status === 'QUEUED') && tasks;
    });
    for (const task of done) {
      const dueAt = task.runAt ?? retrying.nextAttemptAt;
      expect(task.queuedAt?.getTime()).toBeGreaterThanOrEqual(dueAt?.getTime() ?? Infinity);
    }
    expect(done.find((t) => t.id === retrying.id)).toMatchObject({ attempt: 2, nextAttemptAt: null });
    expect((await store.getTask(later.id))?.status).toBe('PENDING');
    const outbox = await store.listUnsentOutbox(100);
    expect(outbox.map((o) => o.key).sort()).toEqual([...ids].sort());
    const retryMessage = JSON.parse(outbox.find((o) => o.key === retrying.id)?.payload ?? '{}') as object;
    expect(retryMessage).toMatchObject({ attempt: 2, template_id: gone.id, template_name: gone.name });
  });

  it('wakes early for a task that becomes due before its next planned sweep', async () => {
    const db = await testDb('sqlite');
    const store = await db.open();
    const template = templateRecord();
    await store.insertTemplate(template);
    // Nothing due: the loop would sleep a minute.
    const loop = createDueLoop({ ...deps(store), maxSleepMs: 60_000 });
    cleanups.push(() => loop.stop());
    loop.start();

    const task = taskRecord(template, { runAt: new Date(Date.now() + 200) });
    await store.insertTasks([task]);
    loop.wake(task.runAt ?? undefined);
    const queued = await waitFor('the task to be queued', async () => {
      const t = await store.getTask(task.id);
      return t?.status === 'QUEUED' && t;
    });
    expect(queued.queuedAt?.getTime()).toBeGreaterThanOrEqual(task.runAt?.getTime() ?? Infinity);
  });
});
