// Task retention: deletes finished tasks (and their events), old dead letters and sent outbox rows in small batches, on one replica at a time.
import type { DomainDeps } from '../domain/deps.js';
import type { RetentionKind } from '../domain/metrics-hooks.js';
import { ID_CLOCK_SLACK_MS, firstIdAt } from '../domain/ids.js';
import type { PurgeScope } from '../store/types.js';
import { periodic } from './periodic.js';

/** The lease row that elects the one purging replica. */
export const PURGE_LEASE = 'task-purge';

const DAY_MS = 86_400_000;

export interface TaskPurgeOptions {
  /** RETENTION_DAYS: finished tasks older than this go, unless their template says otherwise; 0 keeps them. */
  retentionDays: number;
  /** RETENTION_INTERVAL_MS between passes (default 60 s). */
  intervalMs?: number;
  /** RETENTION_BATCH: rows per unit of work (default 100). */
  batch?: number;
  /** This replica in the lease row (unique per process). */
  owner: string;
  /**
   * How long the lease lasts without renewal; renewed before every unit of work. Default: the
   * interval + 60 s, so the holder keeps it from one pass to the next and the purge does not hop
   * between replicas; a crashed holder's turn passes to another replica after that long.
   */
  leaseMs?: number;
  /** Sent outbox rows are kept this long (default 1 h), whatever RETENTION_DAYS says. */
  keepSentOutboxMs?: number;
  /** Called after each unit of work with what it deleted and how long it took (bench, logs). */
  onUnit?: (kind: 'tasks' | 'workflows' | 'dead_letters' | 'outbox', deleted: number, ms: number) => void;
}

export type PurgeReport = Record<RetentionKind, number>;

export interface TaskPurge {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One pass now (or the one in progress); what it deleted, all zeros when another replica holds the lease. */
  runOnce(): Promise<PurgeReport>;
}

/**
 * Each pass takes (or renews) the PURGE_LEASE and, while it holds it, deletes in units of work of
 * at most `batch` rows, each its own short transaction found through an index (tasks by status and
 * finished_at, dead letters by indexed_at, the outbox by sent_at), yielding to the event loop
 * between them so that requests and result batches get the database in between. Tasks go only in
 * a terminal status (COMPLETED, FAILED, TIMED_OUT, CANCELED): the DELETE itself checks it, so a
 * task retried meanwhile stays. A template's retention_days overrides RETENTION_DAYS for its
 * tasks (0: kept forever); finished workflows (whole: the workflow, its steps and their tasks and
 * events) and dead letters follow RETENTION_DAYS.
 */
export function createTaskPurge(deps: DomainDeps, opts: TaskPurgeOptions): TaskPurge {
  const log = deps.logger.child({ component: 'task-purge', owner: opts.owner });
  const batch = opts.batch ?? 100;
  const intervalMs = opts.intervalMs ?? 60_000;
  const leaseMs = opts.leaseMs ?? intervalMs + 60_000;
  const keepSentOutboxMs = opts.keepSentOutboxMs ?? 3_600_000;
  const { store } = deps;
  let stopping = false;
  let held = false;

  const holdLease = async (): Promise<boolean> => {
    const now = deps.clock.now();
    const got = await store.acquireLease(PURGE_LEASE, opts.owner, now, leaseMs);
    if (got !== held)
      log.info(got ? 'this replica now runs the retention purge' : 'retention purge lease lost');
    held = got;
    return got;
  };
  const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));

  /** Runs `unit` until it deletes less than a batch, the lease is lost or the purge stops. */
  async function drain(
    kind: 'tasks' | 'workflows' | 'dead_letters' | 'outbox',
    unit: () => Promise<number>,
  ): Promise<void> {
    for (;;) {
      if (stopping || !(await holdLease())) return;
      const began = performance.now();
      const deleted = await unit();
      opts.onUnit?.(kind, deleted, performance.now() - began);
      if (deleted < batch) return;
      await yieldToOthers();
    }
  }

  async function pass(): Promise<PurgeReport> {
    const report: PurgeReport = { tasks: 0, events: 0, dead_letters: 0, outbox: 0, workflows: 0 };
    if (!(await holdLease())) return report;
    const now = deps.clock.now().getTime();
    const scopes: Array<Omit<PurgeScope, 'limit'>> = [];
    const overridden = (await store.listTemplates()).filter(
      (t) => t.retentionDays !== null && t.retentionDays !== opts.retentionDays,
    );
    for (const t of overridden)
      if (t.retentionDays! > 0)
        scopes.push({ templateId: t.id, finishedBefore: new Date(now - t.retentionDays! * DAY_MS) });
    if (opts.retentionDays > 0)
      scopes.push({
        finishedBefore: new Date(now - opts.retentionDays * DAY_MS),
        exceptTemplateIds: overridden.map((t) => t.id),
      });
    for (const scope of scopes)
      await drain('tasks', async () => {
        const r = await store.purgeFinishedTasks({ ...scope, limit: batch });
        report.tasks += r.tasks;
        report.events += r.events;
        return r.tasks;
      });
    // Whole workflows (with their step tasks and events) follow RETENTION_DAYS.
    if (opts.retentionDays > 0) {
      const finishedBefore = new Date(now - opts.retentionDays * DAY_MS);
      const idBefore = firstIdAt(finishedBefore.getTime() + ID_CLOCK_SLACK_MS);
      await drain('workflows', async () => {
        const r = await store.purgeFinishedWorkflows({ finishedBefore, idBefore, limit: batch });
        report.workflows += r.workflows;
        report.tasks += r.tasks;
        report.events += r.events;
        // A unit deletes whole workflows, so its count says nothing about what is left: `more` does.
        return r.more ? batch : 0;
      });
    }
    if (opts.retentionDays > 0)
      await drain('dead_letters', async () => {
        const n = await store.pruneDeadLetters(new Date(now - opts.retentionDays * DAY_MS), batch);
        report.dead_letters += n;
        return n;
      });
    await drain('outbox', async () => {
      const n = await store.pruneOutbox(new Date(now - keepSentOutboxMs), batch);
      report.outbox += n;
      return n;
    });
    for (const [kind, n] of Object.entries(report) as Array<[RetentionKind, number]>)
      if (n > 0) deps.metrics?.retentionDeleted?.(kind, n);
    if (report.tasks + report.workflows + report.dead_letters + report.outbox > 0)
      log.info(report, 'retention purge deleted rows');
    return report;
  }

  let last: PurgeReport = { tasks: 0, events: 0, dead_letters: 0, outbox: 0, workflows: 0 };
  const loop = periodic({
    intervalMs,
    pass: async () => {
      last = await pass();
      return last.tasks;
    },
    onError: (err) => log.warn({ err }, 'retention purge pass failed; retrying at the next interval'),
    unref: true,
  });

  return {
    async start() {
      stopping = false;
      loop.start();
    },
    async stop() {
      stopping = true;
      await loop.stop();
      if (held) {
        held = false;
        await store.releaseLease(PURGE_LEASE, opts.owner).catch((err: unknown) => {
          log.warn({ err }, 'could not release the retention purge lease; it expires on its own');
        });
      }
    },
    async runOnce() {
      await loop.runOnce();
      return last;
    },
  };
}
