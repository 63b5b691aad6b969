// What both store dialects ask of their tables, written once: filters, orderings, row mappers and helpers.
//
// drizzle's root operators (and, eq, inArray, lt …) build the same SQL objects for either dialect's
// columns, so the queries are spelled here over the columns alone and each dialect's ops.ts only
// runs them (synchronously on SQLite, awaited on MySQL). What truly differs stays in sqlite/ and
// mysql/: upserts, interval arithmetic, affected-row counting, batching, prepared statements.
import { and, asc, desc, eq, gt, gte, inArray, isNull, lt, lte, notInArray, or, sql } from 'drizzle-orm';
import type { Column, SQL } from 'drizzle-orm';
import type {
  DeadLetterFilter,
  EventFilter,
  PurgeScope,
  QueueStatus,
  StoreOps,
  TaskFilter,
  TaskGuard,
  TaskRecord,
  TemplatePatch,
  TemplateRecord,
} from './types.js';

type Columns<K extends string> = { readonly [P in K]: Column };

/** The columns the shared queries read; both dialects' tables (schema.ts) have them by these names. */
export interface QueryTables {
  tasks: Columns<keyof TaskRecord & string>;
  templates: Columns<'id' | 'deletedAt' | 'cronExpression' | 'queue'>;
  leases: Columns<'name' | 'owner' | 'expiresAt'>;
  taskEvents: Columns<'id' | 'taskId' | 'type'>;
  deadLetters: Columns<'id' | 'topic' | 'sourceTopic' | 'reason'>;
}

/** One SELECT of tasks: `where`, then `orderBy`, at most `limit` rows. */
export interface TaskQuery {
  where: SQL | undefined;
  orderBy: SQL;
  limit: number;
}

type ActiveStatus = 'PENDING' | 'WAITING' | 'QUEUED' | 'RUNNING' | 'RETRYING';
/** Admission's in-flight pair: what a slot is. */
export const IN_FLIGHT: readonly QueueStatus[] = ['QUEUED', 'RUNNING'];
type LostDispatchQuery = Parameters<StoreOps['listLostDispatches']>[0];

/** The shared queries over one dialect's tables. */
export function storeQueries({ tasks, templates, leases, taskEvents, deadLetters }: QueryTables) {
  // Statuses as literals, not bound parameters: SQLite picks its partial indexes (sqlite/schema.ts)
  // only when a query spells the status as the index does; MySQL treats both forms alike.
  const isStatus = (status: ActiveStatus) => sql`${tasks.status} = ${sql.raw(`'${status}'`)}`;
  const isActive = sql`${tasks.status} IN ('PENDING', 'WAITING', 'QUEUED', 'RUNNING', 'RETRYING')`;
  const inStatuses = (statuses: readonly QueueStatus[]) =>
    sql`${tasks.status} IN (${sql.raw(statuses.map((s) => `'${s}'`).join(', '))})`;
  // Spelled as SQLite's partial index tasks_finished_at_idx is (sqlite/schema.ts).
  const isFinished = sql`${tasks.status} IN ('COMPLETED', 'FAILED', 'TIMED_OUT', 'CANCELED')`;

  return {
    isStatus,
    /** The live (not deleted) template with this id. */
    liveTemplate: (id: string) => and(eq(templates.id, id), isNull(templates.deletedAt)),
    liveTemplates: (opts?: { cronOnly?: boolean }) =>
      and(
        isNull(templates.deletedAt),
        opts?.cronOnly ? sql`${templates.cronExpression} IS NOT NULL` : undefined,
      ),

    /** The task `id`, if it still matches `guard` (the compare-and-set of updateTask). */
    guardedTask: (id: string, guard: TaskGuard | undefined) =>
      and(
        eq(tasks.id, id),
        guard?.status ? inArray(tasks.status, [...guard.status]) : undefined,
        guard?.attempt !== undefined ? eq(tasks.attempt, guard.attempt) : undefined,
      ),
    activeOf: (templateId: string) => and(eq(tasks.templateId, templateId), isActive),

    /**
     * listTasks as one query per status when it names several: each then reads (status, id) in id
     * order up to the limit, where one IN list would read every matching row and sort them
     * (status=COMPLETED,FAILED is most of the table). mergeNewest joins the parts.
     */
    listParts(f: TaskFilter): TaskQuery[] {
      const several = f.status && f.status.length > 1 ? [...new Set(f.status)] : null;
      if (!several) return [this.list(f)];
      return several.map((status) => this.list({ ...f, status: [status] }));
    },
    list: (f: TaskFilter): TaskQuery => ({
      where: and(
        f.status && f.status.length > 0 ? inArray(tasks.status, f.status) : undefined,
        f.templateId !== undefined ? eq(tasks.templateId, f.templateId) : undefined,
        f.queue !== undefined ? eq(tasks.queue, f.queue) : undefined,
        f.createdFrom ? gte(tasks.createdAt, f.createdFrom) : undefined,
        f.createdTo ? lt(tasks.createdAt, f.createdTo) : undefined,
        f.beforeId !== undefined ? lt(tasks.id, f.beforeId) : undefined,
        f.fromId !== undefined ? gte(tasks.id, f.fromId) : undefined,
      ),
      orderBy: desc(tasks.id),
      limit: f.limit,
    }),
    /** listDueTasks is two range reads, one per status (each on its own index), merged by mergeDue. */
    duePending: (now: Date, limit: number): TaskQuery => ({
      where: and(isStatus('PENDING'), lte(tasks.runAt, now)),
      orderBy: asc(tasks.runAt),
      limit,
    }),
    dueRetrying: (now: Date, limit: number): TaskQuery => ({
      where: and(isStatus('RETRYING'), lte(tasks.nextAttemptAt, now)),
      orderBy: asc(tasks.nextAttemptAt),
      limit,
    }),
    /**
     * RUNNING tasks started before `cutoff` whose deadline (started_at + timeout_ms, `deadlineBefore`:
     * the dialect's own time arithmetic) is before it too. started_at >= cutoff can never be
     * overdue (timeouts are >= 0), so the index serves a range.
     */
    overdue: (cutoff: Date, deadlineBefore: SQL, limit: number): TaskQuery => ({
      where: and(isStatus('RUNNING'), lt(tasks.startedAt, cutoff), deadlineBefore),
      orderBy: asc(tasks.startedAt),
      limit,
    }),
    lostDispatches: (q: LostDispatchQuery): TaskQuery => ({
      where: and(
        isStatus('QUEUED'),
        lt(tasks.queuedAt, q.queuedBefore),
        eq(tasks.queue, q.queue),
        eq(tasks.dispatchPartition, q.partition),
        lt(tasks.dispatchOffset, q.belowOffset),
      ),
      orderBy: asc(tasks.queuedAt),
      limit: q.limit,
    }),

    /**
     * The tasks one purge batch deletes: terminal, finished before the cutoff, of the scope's
     * template or not of its excepted ones. No ORDER BY: any matching rows will do, so each
     * status's index range stops as soon as the batch is full.
     */
    purgeable: (p: PurgeScope) =>
      and(
        isFinished,
        lt(tasks.finishedAt, p.finishedBefore),
        p.templateId !== undefined ? eq(tasks.templateId, p.templateId) : undefined,
        p.exceptTemplateIds?.length ? notInArray(tasks.templateId, [...p.exceptTemplateIds]) : undefined,
      ),
    /** The guard on the DELETE of the ids selected by `purgeable`: still terminal. */
    finishedIn: (ids: string[]) => and(inArray(tasks.id, ids), isFinished),
    /** Which of these tasks are not in a terminal status (yet). */
    unfinishedIn: (ids: string[]) => and(inArray(tasks.id, ids), sql`NOT (${isFinished})`),

    /** listDeadLetters' WHERE. */
    deadLetters: (f: DeadLetterFilter) =>
      and(
        f.topic !== undefined ? eq(deadLetters.topic, f.topic) : undefined,
        f.sourceTopic !== undefined ? eq(deadLetters.sourceTopic, f.sourceTopic) : undefined,
        // INSTR on both dialects: a literal substring, no LIKE wildcards to escape.
        f.reason !== undefined ? sql`INSTR(${deadLetters.reason}, ${f.reason}) > 0` : undefined,
        f.beforeId !== undefined ? lt(deadLetters.id, f.beforeId) : undefined,
      ),
    /** countQueueTasks: tasks in these statuses (default WAITING, QUEUED, RUNNING), of `queue` if given. */
    admissionCounts: (
      queue: string | undefined,
      statuses: readonly QueueStatus[] = ['WAITING', ...IN_FLIGHT],
    ) => and(queue !== undefined ? eq(tasks.queue, queue) : undefined, inStatuses(statuses)),
    /** WAITING tasks of one queue (tasks_admission_idx prefix). */
    waitingIn: (queue: string, exceptTemplates: readonly string[] = []) =>
      and(
        eq(tasks.queue, queue),
        isStatus('WAITING'),
        exceptTemplates.length > 0 ? notInArray(tasks.templateId, [...exceptTemplates]) : undefined,
      ),
    /** queueWaitingTasks' guard for the tasks at one attempt: these ids, still WAITING at it. */
    waitingAt: (ids: readonly string[], attempt: number) =>
      and(inArray(tasks.id, [...ids]), isStatus('WAITING'), eq(tasks.attempt, attempt)),
    /** taskStats on MySQL: finished COMPLETED or FAILED at or after `since` (a range of tasks_finished_status_idx; SQLite spells it its own way). */
    finishedSince: (since: Date) =>
      and(gte(tasks.finishedAt, since), sql`${tasks.status} IN ('COMPLETED', 'FAILED')`),

    /** listEventsAfter's WHERE over task_events joined (left) with tasks. */
    eventsAfter: (afterId: number, f: EventFilter = {}) =>
      and(
        gt(taskEvents.id, afterId),
        f.upTo !== undefined ? lte(taskEvents.id, f.upTo) : undefined,
        f.ids !== undefined ? inArray(taskEvents.id, [...f.ids]) : undefined,
        f.taskIds?.length ? inArray(taskEvents.taskId, [...f.taskIds]) : undefined,
        f.types?.length ? inArray(taskEvents.type, [...f.types]) : undefined,
        f.templateIds?.length ? inArray(tasks.templateId, [...f.templateIds]) : undefined,
        f.queues?.length ? inArray(tasks.queue, [...f.queues]) : undefined,
      ),

    /**
     * The lease row `name` if `owner` may take it: it holds it already, or it expired before `now`.
     * One UPDATE with this WHERE is the atomic take-over (see each dialect's acquireLease).
     */
    takeableLease: (name: string, owner: string, now: Date) =>
      and(eq(leases.name, name), or(eq(leases.owner, owner), lt(leases.expiresAt, now))),
    heldLease: (name: string, owner: string) => and(eq(leases.name, name), eq(leases.owner, owner)),
  };
}

/** A template's columns but name_key: a selected row is then a TemplateRecord. */
export function templateRecordColumns<T extends { nameKey: unknown }>(columns: T): Omit<T, 'nameKey'> {
  const { nameKey: _nameKey, ...rest } = columns;
  return rest;
}

/** The row stored for a template: name_key is the name while live, NULL once deleted (see schema.ts). */
export function templateRow(t: TemplateRecord) {
  return { ...t, nameKey: t.deletedAt ? null : t.name };
}

/** A template patch plus the name_key it implies. */
export function templateSet(patch: TemplatePatch): Record<string, unknown> {
  const set: Record<string, unknown> = { ...patch };
  if (patch.name !== undefined) set.nameKey = patch.name;
  if (patch.deletedAt) set.nameKey = null;
  return set;
}

/** Columns set by soft-deleting a template at `at`. */
export const deletedTemplate = (at: Date) => ({ deletedAt: at, updatedAt: at, nameKey: null });

/** The fields of a patch that are set (undefined ones dropped). */
export function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Whether a patch sets anything (an empty one only checks that the row exists). */
export function hasValues(patch: object): boolean {
  return Object.values(patch).some((v) => v !== undefined);
}

/** The due PENDING and RETRYING tasks as one list, oldest due first (ties by id), at most `limit`. */
/** The patch queueWaitingTasks applies (queueTask's, for a task that keeps its attempt). */
export function queuedPatch(at: Date) {
  return {
    status: 'QUEUED' as const,
    queuedAt: at,
    updatedAt: at,
    nextAttemptAt: null,
    dispatchPartition: null,
    dispatchOffset: null,
  };
}

/** Tasks grouped by attempt (queueWaitingTasks guards each group with one statement). */
export function idsByAttempt(list: readonly Pick<TaskRecord, 'id' | 'attempt'>[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const t of list) {
    const ids = out.get(t.attempt) ?? [];
    ids.push(t.id);
    out.set(t.attempt, ids);
  }
  return out;
}

export function mergeDue(pending: TaskRecord[], retrying: TaskRecord[], limit: number): TaskRecord[] {
  const due = (t: TaskRecord) => (t.status === 'PENDING' ? t.runAt : t.nextAttemptAt)?.getTime() ?? 0;
  return [...pending, ...retrying]
    .sort((a, b) => due(a) - due(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, limit);
}

/** The newest `limit` tasks of several lists each newest first (id desc), as one list. */
export function mergeNewest(lists: readonly TaskRecord[][], limit: number): TaskRecord[] {
  if (lists.length === 1) return lists[0]!;
  return lists
    .flat()
    .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(0, limit);
}

/** The earlier of two optional times (nextDueAt over its two per-status minimums). */
export function earliest(a: Date | null | undefined, b: Date | null | undefined): Date | null {
  if (!a || !b) return a ?? b ?? null;
  return a <= b ? a : b;
}

/** templatesVersion's opaque value from the template count and newest updated_at. */
export function templatesVersionOf(row: { n: number; at: Date | null } | undefined): string {
  return `${row?.n ?? 0}:${row?.at?.getTime() ?? 0}`;
}
