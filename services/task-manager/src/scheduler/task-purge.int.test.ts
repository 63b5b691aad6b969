// Integration: the retention purge on SQLite and MariaDB: what goes, what stays, batches, template overrides, one replica at a time.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { TASK_STATUSES } from '@taskwire/contracts';
import type { TaskStatus } from '@taskwire/contracts';
import { noSignals } from '../domain/deps.js';
import { AppError } from '../domain/errors.js';
import { retryWorkflow } from '../domain/workflows.js';
import type { DomainDeps } from '../domain/deps.js';
import { createManagerMetrics } from '../metrics/index.js';
import { makeTask, makeTemplate } from '../store/contract/fixtures.js';
import type { Store, TaskRecord, TemplateRecord } from '../store/types.js';
import { DIALECTS, createTestDatabase } from '../testing/stores.js';
import type { TestDatabase } from '../testing/stores.js';
import { firstIdAt, newId } from '../domain/ids.js';
import type { WorkflowStatus } from '../store/types.js';
import { createTaskPurge } from './task-purge.js';
import type { TaskPurge, TaskPurgeOptions } from './task-purge.js';

const logger = pino({ level: 'silent' });
const DAY = 86_400_000;
const NOW = new Date('2031-06-01T12:00:00.000Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * DAY);

let db: TestDatabase | undefined;
const purges: TaskPurge[] = [];
afterEach(async () => {
  for (const p of purges.splice(0)) await p.stop();
  await db?.cleanup();
  db = undefined;
});

async function open(dialect: (typeof DIALECTS)[number]): Promise<Store> {
  db = await createTestDatabase(dialect);
  const store = db.open();
  await store.migrate();
  return store;
}

/** Domain deps on `store` at NOW. */
function depsOn(store: Store, extra: Partial<DomainDeps> = {}): DomainDeps {
  return {
    store,
    clock: { now: () => NOW },
    logger,
    settings: { dispatchTopic: 'd', controlTopic: 'c' },
    signals: noSignals,
    ...extra,
  };
}

function purgeOn(store: Store, opts: Partial<TaskPurgeOptions> = {}) {
  const metrics = createManagerMetrics({ logger });
  const deps = depsOn(store, { metrics });
  const units: Array<{ kind: string; deleted: number }> = [];
  const purge = createTaskPurge(deps, {
    retentionDays: 30,
    owner: `owner-${Math.random()}`,
    onUnit: (kind, deleted) => units.push({ kind, deleted }),
    ...opts,
  });
  purges.push(purge);
  return { purge, units, metrics };
}

/** A task of `template` in `status`, finished (or last touched) `finishedDaysAgo` days ago, with two events. */
async function seed(
  store: Store,
  template: TemplateRecord,
  status: TaskStatus,
  finishedDaysAgo: number,
): Promise<TaskRecord> {
  const at = daysAgo(finishedDaysAgo);
  const task = makeTask({ templateId: template.id, status, createdAt: at, updatedAt: at, finishedAt: at });
  await store.insertTasks([task]);
  await store.insertEvents([
    { taskId: task.id, attempt: 1, type: 'created', at, workerId: null, data: null },
    { taskId: task.id, attempt: 1, type: 'queued', at, workerId: null, data: null },
  ]);
  return task;
}

/**
 * A workflow created and (unless RUNNING) finished `daysAgo` days ago, with one step task (two events
 * each) per entry of `steps`, in that status.
 */
async function seedWorkflow(
  store: Store,
  template: TemplateRecord,
  status: WorkflowStatus,
  daysAgo_: number,
  steps: readonly TaskStatus[],
): Promise<{ id: string; tasks: TaskRecord[] }> {
  const at = daysAgo(daysAgo_);
  // An id of that time (newId is monotonic: after a later time in this process it keeps that one).
  const id = firstIdAt(at.getTime()).slice(0, 10) + newId().slice(10);
  const tasks: TaskRecord[] = [];
  for (const st of steps) tasks.push(await seed(store, template, st, daysAgo_));
  await store.insertWorkflow(
    {
      id,
      name: 'wf',
      status,
      onFailure: 'fail_fast',
      workflowTemplateId: null,
      scheduledFor: null,
      stepsTotal: steps.length,
      stepsFinished: steps.length,
      stepsCompleted: steps.length,
      createdAt: at,
      updatedAt: at,
      finishedAt: status === 'RUNNING' ? null : at,
    },
    tasks.map((t, i) => ({
      taskId: t.id,
      workflowId: id,
      stepKey: `s${i}`,
      position: i,
      dependsOn: [],
      dependants: [],
      depsRemaining: 0,
    })),
  );
  return { id, tasks };
}

async function remaining(store: Store, tasks: readonly TaskRecord[]): Promise<string[]> {
  return (await store.getTasks(tasks.map((t) => t.id))).map((t) => t.id).sort();
}

describe.each(DIALECTS)('retention purge on %s', (dialect) => {
  it('deletes terminal tasks finished before RETENTION_DAYS with their events, in batches; recent and unfinished ones stay', async () => {
    const store = await open(dialect);
    const template = makeTemplate();
    await store.insertTemplate(template);
    const old: TaskRecord[] = [];
    for (const status of [
      'COMPLETED',
      'FAILED',
      'TIMED_OUT',
      'CANCELED',
      'COMPLETED',
      'COMPLETED',
      'FAILED',
    ] as const)
      old.push(await seed(store, template, status, 40));
    const recent = [await seed(store, template, 'COMPLETED', 29), await seed(store, template, 'FAILED', 1)];
    // Unfinished tasks stay whatever their times say (a RETRYING one has a finished_at from its last attempt).
    const active = [];
    for (const status of TASK_STATUSES.filter((s) =>
      ['PENDING', 'QUEUED', 'RUNNING', 'RETRYING'].includes(s),
    ))
      active.push(await seed(store, template, status, 400));
    // The newest event belongs to a task that goes: it is kept, so event ids never go back.
    const newestOld = await seed(store, template, 'COMPLETED', 50);
    old.push(newestOld);
    const maxBefore = await store.maxEventId();

    const { purge, units, metrics } = purgeOn(store, { batch: 3 });
    const report = await purge.runOnce();

    expect(report).toEqual({ tasks: 8, events: 15, dead_letters: 0, outbox: 0, workflows: 0 });
    expect(units.filter((u) => u.kind === 'tasks').map((u) => u.deleted)).toEqual([3, 3, 2]);
    expect(await remaining(store, old)).toEqual([]);
    expect(await remaining(store, [...recent, ...active])).toEqual(
      [...recent, ...active].map((t) => t.id).sort(),
    );
    for (const t of old.slice(0, -1)) expect(await store.listEvents(t.id)).toEqual([]);
    expect((await store.listEvents(newestOld.id)).map((e) => e.id)).toEqual([maxBefore]);
    for (const t of [...recent, ...active]) expect(await store.listEvents(t.id)).toHaveLength(2);
    await store.insertEvents([
      { taskId: recent[0]!.id, attempt: 1, type: 'log', at: NOW, workerId: null, data: null },
    ]);
    expect(await store.maxEventId()).toBeGreaterThan(maxBefore);

    const text = await metrics.render();
    expect(text).toContain('taskwire_retention_deleted_total{kind="tasks"} 8');
    expect(text).toContain('taskwire_retention_deleted_total{kind="events"} 15');
    // A second pass finds nothing.
    expect(await purge.runOnce()).toEqual({ tasks: 0, events: 0, dead_letters: 0, outbox: 0, workflows: 0 });
  });

  it("a template's retention_days overrides RETENTION_DAYS for its tasks; 0 keeps them forever; RETENTION_DAYS 0 keeps the rest", async () => {
    const store = await open(dialect);
    const short = makeTemplate({ retentionDays: 2 });
    const forever = makeTemplate({ retentionDays: 0 });
    const plain = makeTemplate();
    for (const t of [short, forever, plain]) await store.insertTemplate(t);
    const shortOld = await seed(store, short, 'COMPLETED', 3);
    const shortNew = await seed(store, short, 'COMPLETED', 1);
    const foreverOld = await seed(store, forever, 'FAILED', 1000);
    const plainOld = await seed(store, plain, 'COMPLETED', 31);
    const plainNew = await seed(store, plain, 'COMPLETED', 3);

    const first = purgeOn(store).purge;
    await first.runOnce();
    expect(await remaining(store, [shortOld, shortNew, foreverOld, plainOld, plainNew])).toEqual(
      [shortNew, foreverOld, plainNew].map((t) => t.id).sort(),
    );

    // RETENTION_DAYS=0: only overrides delete (a new owner: the first one's lease released).
    await first.stop();
    const plainAncient = await seed(store, plain, 'COMPLETED', 5000);
    const shortAgain = await seed(store, short, 'CANCELED', 5);
    expect((await purgeOn(store, { retentionDays: 0 }).purge.runOnce()).tasks).toBe(1);
    expect(await remaining(store, [plainAncient, shortAgain])).toEqual([plainAncient.id]);
  });

  it('never deletes a workflow step, even finished long ago: its workflow still reads it', async () => {
    const store = await open(dialect);
    const template = makeTemplate();
    await store.insertTemplate(template);
    const step = await seed(store, template, 'COMPLETED', 400);
    const loose = await seed(store, template, 'COMPLETED', 400);
    const at = daysAgo(400);
    await store.insertWorkflow(
      {
        id: `wf${step.id}`.slice(0, 26),
        name: 'wf',
        status: 'COMPLETED',
        onFailure: 'fail_fast',
        workflowTemplateId: null,
        scheduledFor: null,
        stepsTotal: 1,
        stepsFinished: 1,
        stepsCompleted: 1,
        createdAt: at,
        updatedAt: at,
        finishedAt: at,
      },
      [
        {
          taskId: step.id,
          workflowId: `wf${step.id}`.slice(0, 26),
          stepKey: 'a',
          position: 0,
          dependsOn: [],
          dependants: [],
          depsRemaining: 0,
        },
      ],
    );
    expect((await purgeOn(store).purge.runOnce()).tasks).toBe(1);
    expect(await remaining(store, [step, loose])).toEqual([step.id]);
    expect(await store.listEvents(step.id)).toHaveLength(2);
  });

  it('deletes whole workflows finished before RETENTION_DAYS with their steps, step tasks and events; running, recent and still-stopping ones stay', async () => {
    const store = await open(dialect);
    const template = makeTemplate();
    await store.insertTemplate(template);
    const old = await seedWorkflow(store, template, 'COMPLETED', 40, ['COMPLETED', 'COMPLETED']);
    const failed = await seedWorkflow(store, template, 'FAILED', 35, ['FAILED', 'CANCELED']);
    const running = await seedWorkflow(store, template, 'RUNNING', 40, ['RUNNING']);
    // Cancelled long ago, one step still stopping: it waits for a later pass.
    const stopping = await seedWorkflow(store, template, 'CANCELED', 40, ['RUNNING', 'CANCELED']);
    // Seeded last, so the newest event row (always kept) is one of its steps'.
    const recent = await seedWorkflow(store, template, 'COMPLETED', 5, ['COMPLETED']);
    const { purge, metrics } = purgeOn(store);
    expect(await purge.runOnce()).toEqual({ tasks: 4, events: 8, dead_letters: 0, outbox: 0, workflows: 2 });
    for (const gone of [old, failed]) {
      expect(await store.getWorkflow(gone.id)).toBeNull();
      expect(await store.listWorkflowSteps(gone.id)).toEqual([]);
      expect(await remaining(store, gone.tasks)).toEqual([]);
      for (const t of gone.tasks) expect(await store.listEvents(t.id)).toEqual([]);
    }
    for (const kept of [running, stopping, recent]) {
      expect(await store.getWorkflow(kept.id)).not.toBeNull();
      expect(await store.listWorkflowSteps(kept.id)).toHaveLength(kept.tasks.length);
      expect(await remaining(store, kept.tasks)).toEqual(kept.tasks.map((t) => t.id).sort());
    }
    expect(await metrics.render()).toContain('taskwire_retention_deleted_total{kind="workflows"} 2');
  });

  it('a retry racing the purge of the same old FAILED workflow: the retry wins and keeps all of it, or the purge wins and the retry is refused', async () => {
    const store = await open(dialect);
    const template = makeTemplate();
    await store.insertTemplate(template);
    const deps = depsOn(store);
    for (let round = 0; round < 8; round++) {
      const wf = await seedWorkflow(store, template, 'FAILED', 40, ['COMPLETED', 'FAILED']);
      const { purge } = purgeOn(store);
      // The retry starts 0–7 ms after the purge, so the two meet at different points of the purge's
      // unit (on MySQL, where they truly overlap) and each side gets to go first.
      const [retried] = await Promise.allSettled([
        new Promise<void>((resolve) => setTimeout(resolve, round)).then(() => retryWorkflow(deps, wf.id)),
        purge.runOnce(),
      ]);
      const workflow = await store.getWorkflow(wf.id);
      if (retried.status === 'fulfilled') {
        // Nothing of a retried workflow is gone: the row, both steps and both tasks.
        expect(workflow?.status).toBe('RUNNING');
        expect(await store.listWorkflowSteps(wf.id)).toHaveLength(2);
        expect(await remaining(store, wf.tasks)).toEqual(wf.tasks.map((t) => t.id).sort());
      } else {
        const err = retried.reason as AppError;
        expect(err).toBeInstanceOf(AppError);
        expect(['not_found', 'conflict']).toContain(err.code);
        // All of it is gone: no workflow row without steps, no step task left behind.
        expect(workflow).toBeNull();
        expect(await store.listWorkflowSteps(wf.id)).toEqual([]);
        expect(await remaining(store, wf.tasks)).toEqual([]);
      }
    }
  });

  it('deletes a backlog of workflows in units of whole workflows within RETENTION_BATCH steps, a larger workflow alone', async () => {
    const store = await open(dialect);
    const template = makeTemplate();
    await store.insertTemplate(template);
    const small = [];
    for (let i = 0; i < 5; i++)
      small.push(await seedWorkflow(store, template, 'COMPLETED', 50 - i, ['COMPLETED', 'COMPLETED']));
    const big = await seedWorkflow(store, template, 'COMPLETED', 40, [
      'COMPLETED',
      'COMPLETED',
      'COMPLETED',
      'COMPLETED',
      'COMPLETED',
    ]);
    const { purge, units } = purgeOn(store, { batch: 3 });
    expect((await purge.runOnce()).workflows).toBe(6);
    for (const w of [...small, big]) expect(await store.getWorkflow(w.id)).toBeNull();
    // Two steps each and a batch of 3: one small workflow per unit; the five-step one in a unit of its own.
    expect(units.filter((u) => u.kind === 'workflows').length).toBeGreaterThanOrEqual(6);
  });

  it('runs on one replica at a time: another owner purges nothing until the holder stops', async () => {
    const store = await open(dialect);
    const other = db!.open();
    const template = makeTemplate();
    await store.insertTemplate(template);
    await seed(store, template, 'COMPLETED', 40);
    const a = purgeOn(store);
    const b = purgeOn(other);
    expect((await a.purge.runOnce()).tasks).toBe(1);
    const later = await seed(store, template, 'COMPLETED', 40);
    expect(await b.purge.runOnce()).toEqual({
      tasks: 0,
      events: 0,
      dead_letters: 0,
      outbox: 0,
      workflows: 0,
    });
    expect(await remaining(store, [later])).toEqual([later.id]);
    await a.purge.stop(); // releases the lease
    expect((await b.purge.runOnce()).tasks).toBe(1);
    expect(await remaining(store, [later])).toEqual([]);
  });

  it('prunes sent outbox rows after an hour (never unsent ones) and dead letters after RETENTION_DAYS with their replays', async () => {
    const store = await open(dialect);
    await store.insertOutbox([
      { topic: 't', key: 'old-sent', payload: '{}', createdAt: daysAgo(1) },
      { topic: 't', key: 'new-sent', payload: '{}', createdAt: daysAgo(1) },
      { topic: 't', key: 'unsent', payload: '{}', createdAt: daysAgo(100) },
    ]);
    const rows = await store.listUnsentOutbox(10);
    await store.markOutboxSent([rows[0]!.id!], new Date(NOW.getTime() - 2 * 3_600_000));
    await store.markOutboxSent([rows[1]!.id!], new Date(NOW.getTime() - 60_000));
    const letter = (offset: number, indexedAt: Date) => ({
      topic: 'x.dlq',
      partition: 0,
      offset,
      time: indexedAt,
      indexedAt,
      reason: 'r',
      sourceTopic: 'x',
      sourcePartition: 0,
      sourceOffset: offset,
      key: null,
      headers: {},
      value: '{}',
      valueBytes: 2,
      truncated: false,
    });
    expect(await store.insertDeadLetters([letter(0, daysAgo(31)), letter(1, daysAgo(29))])).toBe(2);
    const [oldLetter] = await store.listDeadLetters({ limit: 10, beforeId: Number.MAX_SAFE_INTEGER });
    const stored = await store.listDeadLetters({ limit: 10 });
    await store.insertDlqReplays(
      stored.map((l) => ({ deadLetterId: l.id!, at: NOW, by: null, targetTopic: 'x', edited: false })),
    );
    expect(oldLetter).toBeDefined();

    const report = await purgeOn(store, { batch: 1 }).purge.runOnce();
    expect(report).toMatchObject({ outbox: 1, dead_letters: 1 });
    expect(await store.countUnsentOutbox()).toBe(1);
    const left = await store.listDeadLetters({ limit: 10 });
    expect(left.map((l) => l.offset)).toEqual([1]);
    expect((await store.listDlqReplays(stored.map((l) => l.id!))).map((r) => r.deadLetterId)).toEqual([
      left[0]!.id,
    ]);
  });
});
