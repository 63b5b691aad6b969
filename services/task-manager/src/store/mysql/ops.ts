// Every Store operation on MySQL/MariaDB, written once over a drizzle handle (the pool or a transaction).
import {
  and,
  asc,
  count,
  desc,
  eq,
  getTableColumns,
  gt,
  gte,
  inArray,
  isNull,
  lt,
  max,
  min,
  notExists,
  or,
  sql,
} from 'drizzle-orm';
import type { Column, SQL } from 'drizzle-orm';
import type { MySqlDatabase } from 'drizzle-orm/mysql-core';
import type { MySql2PreparedQueryHKT, MySql2QueryResultHKT } from 'drizzle-orm/mysql2';
import type { Pool, PoolConnection } from 'mysql2/promise';
import type {
  DeadLetterRecord,
  KeyAdmission,
  OutboxRecord,
  StoreOps,
  TaskEventRecord,
  TaskRecord,
  TaskUpdate,
  WaitingHead,
  WorkerRecord,
} from '../types.js';
import { UniqueViolation } from '../types.js';
import { insertPlan } from '../bulk.js';
import type { InsertPlan } from '../bulk.js';
import { chunk } from '../chunk.js';
import * as shared from '../queries.js';
import { assertDistinctTasks, guardHolds, patchKeys } from '../batch-update.js';
import { translateMysqlError } from './errors.js';
import {
  deadLetters,
  dlqReplays,
  leases,
  outbox,
  queues,
  taskEvents,
  tasks,
  templates,
  workers,
  workflowSteps,
  workflows,
} from './schema.js';
import { purgeableSteps, wholeWorkflowsWithin, workflowQueries } from '../workflow-queries.js';

export type MysqlDb = MySqlDatabase<MySql2QueryResultHKT, MySql2PreparedQueryHKT, Record<string, never>>;

/**
 * Where queries run: the pool, or one connection holding a transaction. `db` is drizzle over it;
 * `raw` takes the prebuilt batch INSERTs.
 */
export interface MysqlHandle {
  db: MysqlDb;
  raw: Pool | PoolConnection;
}

/** Runs `fn` in a transaction (outside a unit of work) or on the current one (inside). */
export type Atomic = <T>(fn: (h: MysqlHandle) => Promise<T>) => Promise<T>;

// One multi-row INSERT per chunk. The byte budget keeps a statement far below max_allowed_packet
// (16 MiB on MariaDB, 64 MiB on MySQL 8) even when rows carry large params.
const MAX_ROWS = 1000;
const MAX_BYTES = 4 * 1024 * 1024;
const IN_LIST = 10_000;
// Branches of one admission heads UNION ALL (one bounded range each).
const MAX_HEAD_BRANCHES = 256;
// keyAdmission's branch per key: parameters key, queue, key, queue, key.
const KEY_ADMISSION_BRANCH =
  "SELECT ? AS k, (SELECT count(*) FROM `tasks` WHERE `queue` = ? AND `status` IN ('QUEUED', 'RUNNING') AND `concurrency_key` = ?) AS n," +
  " (SELECT max(`priority`) FROM `tasks` WHERE `queue` = ? AND `status` = 'WAITING' AND `concurrency_key` = ?) AS p";
const jsonSize = (value: unknown) => (value == null ? 0 : (JSON.stringify(value)?.length ?? 0));
const taskSize = (t: TaskRecord) => 600 + jsonSize(t.params) + jsonSize(t.result) + jsonSize(t.error);

const templateColumns = shared.templateRecordColumns(getTableColumns(templates));
const q = shared.storeQueries({ tasks, templates, leases, taskEvents, deadLetters });
const wq = workflowQueries({ workflows, workflowSteps });

const quote = (identifier: string) => `\`${identifier}\``;
const taskInsert = insertPlan<TaskRecord>(tasks, quote);
const eventInsert = insertPlan<TaskEventRecord>(taskEvents, quote, { omit: ['id'] });
const outboxInsert = insertPlan<OutboxRecord>(outbox, quote, { omit: ['id'] });
// VALUES() is deprecated in MySQL 8.0.20+ but still works there and is all MariaDB knows.
const workerUpsert = insertPlan<WorkerRecord>(workers, quote, {
  suffix: `ON DUPLICATE KEY UPDATE ${Object.values(getTableColumns(workers))
    .filter((c) => c.name !== 'id')
    .map((c) => `\`${c.name}\` = VALUES(\`${c.name}\`)`)
    .join(', ')}`,
});

/** affectedRows of an UPDATE/DELETE (mysql2 sets FOUND_ROWS: matched rows, changed or not). */
function affected(result: unknown): number {
  return (result as [{ affectedRows: number }])[0].affectedRows;
}

const taskColumns = getTableColumns(tasks) as Record<string, Column>;

/**
 * updateTasks in one transaction: a locking read of the rows (id order, so replicas lock in the
 * same order), each guard judged on the row as locked — the latest committed one, which nobody can
 * change before this transaction ends — then one multi-row UPDATE … JOIN per patch shape (columns
 * set) instead of a round trip per task. Values are written as drizzle writes them in updateTask.
 */
async function updateLocked(tx: MysqlHandle, updates: readonly TaskUpdate[]): Promise<Set<string>> {
  const byId = new Map(updates.map((u) => [u.id, u]));
  const changed = new Set<string>();
  const shapes = new Map<string, { columns: string[]; rows: unknown[][] }>();
  for (const part of chunk([...byId.keys()].sort(), IN_LIST)) {
    const [locked] = await tx.raw.query(
      'SELECT `id`, `status`, `attempt` FROM `tasks` WHERE `id` IN (?) ORDER BY `id` FOR UPDATE',
      [part],
    );
    for (const row of locked as Array<Pick<TaskRecord, 'id' | 'status' | 'attempt'>>) {
      const u = byId.get(row.id);
      if (!u || !guardHolds(row, u.guard)) continue;
      changed.add(u.id);
      const keys = patchKeys(u.patch).sort();
      if (keys.length === 0) continue;
      const shape = keys.join(',');
      let group = shapes.get(shape);
      if (!group) {
        const columns = keys.map((k) => {
          const column = taskColumns[k];
          if (!column || k === 'id') throw new Error(`updateTasks: ${k} is not an updatable task column`);
          return column.name;
        });
        shapes.set(shape, (group = { columns, rows: [] }));
      }
      const patch = u.patch as Record<string, unknown>;
      group.rows.push([
        u.id,
        ...keys.map((k) => (patch[k] === null ? null : taskColumns[k]!.mapToDriverValue(patch[k]))),
      ]);
    }
  }
  for (const { columns, rows } of shapes.values()) {
    // The derived table's column names come from its first SELECT.
    const first = `SELECT ? AS \`v_id\`, ${columns.map((c) => `? AS ${quote(`v_${c}`)}`).join(', ')}`;
    const more = ` UNION ALL SELECT ?${', ?'.repeat(columns.length)}`;
    const set = columns.map((c) => `t.${quote(c)} = v.${quote(`v_${c}`)}`).join(', ');
    for (const part of chunk(rows, MAX_ROWS, rowBytes, MAX_BYTES)) {
      const union = first + more.repeat(part.length - 1);
      await tx.raw.query(
        `UPDATE \`tasks\` AS t JOIN (${union}) AS v ON t.\`id\` = v.\`v_id\` SET ${set}`,
        part.flat(),
      );
    }
  }
  return changed;
}

/** Estimated bytes of one row of driver values in a statement. */
const rowBytes = (row: unknown[]) =>
  row.reduce<number>((n, v) => n + 8 + (typeof v === 'string' ? v.length : 0), 0);

/** The operations over `db`; unique-key errors are translated by the caller (index.ts). */
export function mysqlOps(h: MysqlHandle, atomic: Atomic): StoreOps {
  const { db } = h;
  const inChunks = async <T, R>(values: readonly T[], fn: (part: T[]) => Promise<R[]>): Promise<R[]> => {
    if (values.length === 0) return [];
    const out: R[] = [];
    for (const part of chunk(values, IN_LIST)) out.push(...(await fn(part)));
    return out;
  };
  /** One statement per part (none for no rows); several parts share one transaction. */
  const inParts = async <T>(parts: T[][], run: (target: MysqlHandle, part: T[]) => Promise<unknown>) => {
    if (parts.length > 1)
      await atomic(async (tx) => {
        for (const part of parts) await run(tx, part);
      });
    else if (parts[0]?.length) await run(h, parts[0]);
  };
  /** One multi-row INSERT per chunk (rows and estimated bytes bounded). */
  const insertAll = <R>(plan: InsertPlan<R>, rows: readonly R[], sizeOf?: (row: R) => number) =>
    inParts(chunk(rows, MAX_ROWS, sizeOf, MAX_BYTES), (target, part) =>
      target.raw.query(plan.sql(part.length), plan.values(part)),
    );
  /**
   * Runs an INSERT that a unique key may reject; false if it did. Not INSERT IGNORE: that also
   * turns bad values into warnings (a too-long string truncated silently). A duplicate key fails
   * only this statement, not the surrounding transaction.
   */
  const insertedUnlessDuplicate = async (insert: () => Promise<unknown>): Promise<boolean> => {
    try {
      await insert();
      return true;
    } catch (err) {
      if (translateMysqlError(err) instanceof UniqueViolation) return false;
      throw err;
    }
  };
  const selectTasks = ({ where, orderBy, limit }: shared.TaskQuery) =>
    db.select().from(tasks).where(where).orderBy(orderBy).limit(limit);
  const selectTemplates = (where: SQL | undefined) => db.select(templateColumns).from(templates).where(where);

  return {
    // templates
    async insertTemplate(t) {
      await db.insert(templates).values(shared.templateRow(t));
    },
    async updateTemplate(id, patch) {
      const live = q.liveTemplate(id);
      if (!shared.hasValues(patch))
        return (await db.select({ id: templates.id }).from(templates).where(live)).length > 0;
      return affected(await db.update(templates).set(shared.templateSet(patch)).where(live)) > 0;
    },
    async getTemplate(id) {
      const [row] = await selectTemplates(q.liveTemplate(id));
      return row ?? null;
    },
    async getTemplateIncludingDeleted(id) {
      const [row] = await selectTemplates(eq(templates.id, id));
      return row ?? null;
    },
    async getTemplateByName(name) {
      const [row] = await selectTemplates(eq(templates.nameKey, name));
      return row ?? null;
    },
    getTemplates(ids) {
      return inChunks(ids, (part) => selectTemplates(inArray(templates.id, part)));
    },
    listTemplates(opts) {
      return selectTemplates(q.liveTemplates(opts)).orderBy(asc(templates.id));
    },
    async deleteTemplate(id, at) {
      return (
        affected(await db.update(templates).set(shared.deletedTemplate(at)).where(q.liveTemplate(id))) > 0
      );
    },
    async templatesVersion() {
      const [row] = await db.select({ n: count(), at: max(templates.updatedAt) }).from(templates);
      return shared.templatesVersionOf(row);
    },

    // tasks
    insertTasks(rows) {
      return insertAll(taskInsert, rows, taskSize);
    },
    insertTaskIfAbsent(task) {
      return insertedUnlessDuplicate(() => h.raw.query(taskInsert.sql(1), taskInsert.values([task])));
    },
    async getTask(id) {
      const [row] = await db.select().from(tasks).where(eq(tasks.id, id));
      return row ?? null;
    },
    getTasks(ids) {
      return inChunks(ids, (part) => db.select().from(tasks).where(inArray(tasks.id, part)));
    },
    getTasksByIdempotencyKeys(keys) {
      return inChunks(keys, (part) => db.select().from(tasks).where(inArray(tasks.idempotencyKey, part)));
    },
    async updateTask(id, patch, guard) {
      const where = q.guardedTask(id, guard);
      if (!shared.hasValues(patch))
        return (await db.select({ id: tasks.id }).from(tasks).where(where)).length > 0;
      return affected(await db.update(tasks).set(patch).where(where)) > 0;
    },
    async updateTasks(updates) {
      assertDistinctTasks(updates);
      if (updates.length === 0) return new Set<string>();
      return atomic((tx) => updateLocked(tx, updates));
    },
    async listTasks(f) {
      return shared.mergeNewest(await Promise.all(q.listParts(f).map((part) => selectTasks(part))), f.limit);
    },
    async listDueTasks(now, limit) {
      const [pending, retrying] = await Promise.all([
        selectTasks(q.duePending(now, limit)),
        selectTasks(q.dueRetrying(now, limit)),
      ]);
      return shared.mergeDue(pending, retrying, limit);
    },
    async nextDueAt() {
      const first = async (
        at: typeof tasks.runAt | typeof tasks.nextAttemptAt,
        status: 'PENDING' | 'RETRYING',
      ) =>
        (
          await db
            .select({ at: min(at) })
            .from(tasks)
            .where(q.isStatus(status))
        )[0]?.at;
      const [pending, retrying] = await Promise.all([
        first(tasks.runAt, 'PENDING'),
        first(tasks.nextAttemptAt, 'RETRYING'),
      ]);
      return shared.earliest(pending, retrying);
    },
    listOverdueTasks(now, graceMs, limit) {
      const cutoff = new Date(now.getTime() - graceMs);
      // DATETIME(3) plus a millisecond count: INTERVAL arithmetic in microseconds (MySQL has no
      // MILLISECOND unit).
      const deadlineBefore = sql`${tasks.startedAt} + INTERVAL (${tasks.timeoutMs} * 1000) MICROSECOND < ${sql.param(cutoff, tasks.startedAt)}`;
      return selectTasks(q.overdue(cutoff, deadlineBefore, limit));
    },
    listLostDispatches(lost) {
      return selectTasks(q.lostDispatches(lost));
    },
    recordDispatchOffsets(rows) {
      // One UPDATE … JOIN per run of rows instead of a round trip per task: the relay calls this
      // for every batch it publishes. A task named twice (a new attempt published before the
      // first was marked) keeps its last offset: a JOIN would apply any one of its rows.
      const last = [...new Map(rows.map((r) => [r.taskId, r])).values()];
      return inParts(chunk(last, 1_000), (target, part) => {
        const values = sql.join(
          part.map((r) => sql`SELECT ${r.taskId} AS id, ${r.partition} AS p, ${r.offset} AS o`),
          sql` UNION ALL `,
        );
        return target.db.execute(
          sql`UPDATE \`tasks\` JOIN (${values}) AS v ON \`tasks\`.\`id\` = v.id SET \`tasks\`.\`dispatch_partition\` = v.p, \`tasks\`.\`dispatch_offset\` = v.o WHERE \`tasks\`.\`status\` = 'QUEUED'`,
        );
      });
    },
    async hasActiveTask(templateId) {
      return (
        (await db.select({ id: tasks.id }).from(tasks).where(q.activeOf(templateId)).limit(1)).length > 0
      );
    },
    async lastScheduledFor(templateId) {
      const [row] = await db
        .select({ at: max(tasks.scheduledFor) })
        .from(tasks)
        .where(eq(tasks.templateId, templateId));
      return row?.at ?? null;
    },

    // events
    insertEvents(events) {
      return insertAll(eventInsert, events, (e) => 200 + jsonSize(e.data));
    },
    listEvents(taskId) {
      return db.select().from(taskEvents).where(eq(taskEvents.taskId, taskId)).orderBy(asc(taskEvents.id));
    },
    async listEventsAfter(afterId, limit, filter) {
      if (filter?.ids?.length === 0) return [];
      return db
        .select({ ...getTableColumns(taskEvents), templateId: tasks.templateId, queue: tasks.queue })
        .from(taskEvents)
        .leftJoin(tasks, eq(tasks.id, taskEvents.taskId))
        .where(q.eventsAfter(afterId, filter))
        .orderBy(asc(taskEvents.id))
        .limit(limit);
    },
    async taskStats(since) {
      const byQueueStatus = await db
        .select({ queue: tasks.queue, status: tasks.status, n: count() })
        .from(tasks)
        .groupBy(tasks.queue, tasks.status);
      const minute = sql<number>`TIMESTAMPDIFF(MINUTE, ${since}, ${tasks.finishedAt})`;
      const finished = await db
        .select({ m: minute, status: tasks.status, n: count() })
        .from(tasks)
        .where(q.finishedSince(since))
        .groupBy(minute, tasks.status);
      return {
        byQueueStatus: byQueueStatus.map((r) => ({ ...r, n: Number(r.n) })),
        finishedPerMinute: finished.map((r) => ({
          minute: since.getTime() + Number(r.m) * 60_000,
          status: r.status as 'COMPLETED' | 'FAILED',
          n: Number(r.n),
        })),
      };
    },

    async maxEventId() {
      const [row] = await db.select({ id: max(taskEvents.id) }).from(taskEvents);
      return Number(row?.id ?? 0);
    },

    // outbox
    insertOutbox(rows) {
      return insertAll(outboxInsert, rows, (r) => 200 + r.payload.length);
    },
    listUnsentOutbox(limit, afterId) {
      const unsent = isNull(outbox.sentAt);
      return db
        .select()
        .from(outbox)
        .where(afterId === undefined ? unsent : and(unsent, gt(outbox.id, afterId)))
        .orderBy(asc(outbox.id))
        .limit(limit);
    },
    async countUnsentOutbox() {
      const [row] = await db.select({ n: count() }).from(outbox).where(isNull(outbox.sentAt));
      return row?.n ?? 0;
    },
    markOutboxSent(ids, at) {
      return inParts(chunk(ids, IN_LIST), (target, part) =>
        target.db.update(outbox).set({ sentAt: at }).where(inArray(outbox.id, part)),
      );
    },
    async pruneOutbox(before, limit) {
      const old = lt(outbox.sentAt, before);
      if (limit === undefined) return affected(await db.delete(outbox).where(old));
      // DELETE … ORDER BY … LIMIT: one statement, a range of the (sent_at, id) index.
      return affected(await db.delete(outbox).where(old).orderBy(asc(outbox.sentAt)).limit(limit));
    },

    // dead letters
    async insertDeadLetters(rows) {
      if (rows.length === 0) return 0;
      let added = 0;
      for (const part of chunk(rows, 500)) {
        // Which are there already, for the count: ON DUPLICATE KEY's affected rows depend on
        // CLIENT_FOUND_ROWS. One indexer consumes a partition at a time, so nobody races this.
        const seen = await db
          .select({ topic: deadLetters.topic, partition: deadLetters.partition, offset: deadLetters.offset })
          .from(deadLetters)
          .where(
            or(
              ...part.map((r) =>
                and(
                  eq(deadLetters.topic, r.topic),
                  eq(deadLetters.partition, r.partition),
                  eq(deadLetters.offset, r.offset),
                ),
              ),
            ),
          );
        const key = (r: { topic: string; partition: number; offset: number }) =>
          `${r.topic}\u0000${r.partition}\u0000${r.offset}`;
        const known = new Set(seen.map(key));
        const fresh = part.filter((r) => !known.has(key(r))).map(({ id: _id, ...r }) => r);
        if (fresh.length === 0) continue;
        // Not INSERT IGNORE (it also hides bad values); a duplicate sets id to itself.
        await db
          .insert(deadLetters)
          .values(fresh)
          .onDuplicateKeyUpdate({ set: { id: sql`${deadLetters.id}` } });
        added += fresh.length;
      }
      return added;
    },
    async listDeadLetters(f) {
      return (await db
        .select()
        .from(deadLetters)
        .where(q.deadLetters(f))
        .orderBy(desc(deadLetters.id))
        .limit(f.limit)) as DeadLetterRecord[];
    },
    async getDeadLetter(topic, partition, offset) {
      const [row] = await db
        .select()
        .from(deadLetters)
        .where(
          and(
            eq(deadLetters.topic, topic),
            eq(deadLetters.partition, partition),
            eq(deadLetters.offset, offset),
          ),
        );
      return (row as DeadLetterRecord | undefined) ?? null;
    },
    async insertDlqReplays(rows) {
      if (rows.length === 0) return;
      await db.insert(dlqReplays).values(rows.map(({ id: _id, ...r }) => r));
    },
    listDlqReplays(ids) {
      return inChunks(ids, (part) =>
        db
          .select()
          .from(dlqReplays)
          .where(inArray(dlqReplays.deadLetterId, part))
          .orderBy(asc(dlqReplays.id)),
      );
    },
    pruneDeadLetters(before, limit) {
      return atomic(async ({ db: tx }) => {
        const ids = (
          await tx
            .select({ id: deadLetters.id })
            .from(deadLetters)
            .where(lt(deadLetters.indexedAt, before))
            .orderBy(asc(deadLetters.indexedAt))
            .limit(limit)
        ).map((r) => r.id);
        if (ids.length === 0) return 0;
        await tx.delete(dlqReplays).where(inArray(dlqReplays.deadLetterId, ids));
        return affected(await tx.delete(deadLetters).where(inArray(deadLetters.id, ids)));
      });
    },

    // task retention
    purgeFinishedWorkflows(scope) {
      return atomic(async ({ db: tx }) => {
        const found = await tx
          .select({ id: workflows.id, steps: workflows.stepsTotal })
          .from(workflows)
          .where(wq.purgeable(scope))
          .orderBy(asc(workflows.id))
          .limit(scope.limit)
          // Locked: a retry of one of them (an update of its row) waits, then finds it gone.
          .for('update');
        const chosen = wholeWorkflowsWithin(found, scope.limit);
        const none = { workflows: 0, tasks: 0, events: 0, more: false };
        if (chosen.length === 0) return none;
        const more = chosen.length < found.length || found.length === scope.limit;
        const steps = await tx
          .select({ taskId: workflowSteps.taskId, workflowId: workflowSteps.workflowId })
          .from(workflowSteps)
          .where(inArray(workflowSteps.workflowId, chosen));
        const stepIds = steps.map((st) => st.taskId);
        const unfinished = new Set(
          stepIds.length === 0
            ? []
            : (await tx.select({ id: tasks.id }).from(tasks).where(q.unfinishedIn(stepIds))).map((r) => r.id),
        );
        const { ids, taskIds } = purgeableSteps(chosen, steps, unfinished);
        if (ids.length === 0) return { ...none, more };
        let deletedTasks = 0;
        let events = 0;
        if (taskIds.length > 0) {
          deletedTasks = affected(await tx.delete(tasks).where(q.finishedIn(taskIds)));
          const [newest] = await tx.select({ id: max(taskEvents.id) }).from(taskEvents);
          // The newest event stays (see purgeFinishedTasks).
          events = affected(
            await tx
              .delete(taskEvents)
              .where(and(inArray(taskEvents.taskId, taskIds), lt(taskEvents.id, Number(newest?.id ?? 0)))),
          );
        }
        await tx.delete(workflowSteps).where(inArray(workflowSteps.workflowId, ids));
        const deleted = affected(await tx.delete(workflows).where(inArray(workflows.id, ids)));
        return { workflows: deleted, tasks: deletedTasks, events, more };
      });
    },

    purgeFinishedTasks(scope) {
      return atomic(async ({ db: tx }) => {
        // A plain read (no FOR UPDATE: no gap locks on the status index); the DELETE re-checks the
        // status, so a task retried in between stays, and so do its events (NOT EXISTS below).
        const ids = (
          await tx
            .select({ id: tasks.id })
            .from(tasks)
            .where(
              and(
                q.purgeable(scope),
                // Workflow steps stay: their workflow reads their results (retry, $refs, GET /workflows/{id}).
                notExists(
                  tx
                    .select({ one: sql`1` })
                    .from(workflowSteps)
                    .where(eq(workflowSteps.taskId, tasks.id)),
                ),
              ),
            )
            .limit(scope.limit)
        ).map((r) => r.id);
        if (ids.length === 0) return { tasks: 0, events: 0 };
        const deleted = affected(await tx.delete(tasks).where(q.finishedIn(ids)));
        const [newest] = await tx.select({ id: max(taskEvents.id) }).from(taskEvents);
        const events = affected(
          await tx.delete(taskEvents).where(
            and(
              inArray(taskEvents.taskId, ids),
              notExists(
                tx
                  .select({ one: sql`1` })
                  .from(tasks)
                  .where(eq(tasks.id, taskEvents.taskId)),
              ),
              // The newest event stays: MariaDB before 10.2.4 (and MySQL before 8) reset
              // AUTO_INCREMENT to max(id) + 1 on restart, and stream clients resume by id.
              lt(taskEvents.id, Number(newest?.id ?? 0)),
            ),
          ),
        );
        return { tasks: deleted, events };
      });
    },

    // workers
    upsertWorkers(rows) {
      return insertAll(workerUpsert, rows);
    },
    listWorkers() {
      return db.select().from(workers).orderBy(asc(workers.id));
    },

    // workflows
    insertWorkflow(w, steps) {
      return atomic(async (tx) => {
        // A cron fire another replica already started: the unique schedule key refuses the row.
        if (!(await insertedUnlessDuplicate(() => tx.db.insert(workflows).values(w)))) return false;
        for (const part of chunk(steps, 1_000)) await tx.db.insert(workflowSteps).values(part);
        return true;
      });
    },
    async getWorkflow(id) {
      const [row] = await db.select().from(workflows).where(eq(workflows.id, id));
      return row ?? null;
    },
    listWorkflows(f) {
      const { where, orderBy, limit } = wq.list(f);
      return db.select().from(workflows).where(where).orderBy(orderBy).limit(limit);
    },
    async updateWorkflow(id, patch, guard) {
      return affected(await db.update(workflows).set(patch).where(wq.guarded(id, guard))) > 0;
    },
    async addWorkflowProgress(id, delta, at) {
      // The UPDATE takes the row lock and works on the latest committed counts; the SELECT in the
      // same transaction then sees them with our increment (READ COMMITTED).
      await db.update(workflows).set(wq.progress(delta, at)).where(eq(workflows.id, id));
      const [row] = await db.select().from(workflows).where(eq(workflows.id, id));
      return row ?? null;
    },
    listWorkflowSteps(workflowId) {
      return db
        .select()
        .from(workflowSteps)
        .where(eq(workflowSteps.workflowId, workflowId))
        .orderBy(asc(workflowSteps.position));
    },
    getStepsOfTasks(taskIds) {
      return inChunks(taskIds, (part) =>
        db.select().from(workflowSteps).where(inArray(workflowSteps.taskId, part)),
      );
    },
    getWorkflowStepsByKey(workflowId, keys) {
      return inChunks(keys, (part) => db.select().from(workflowSteps).where(wq.stepsByKey(workflowId, part)));
    },
    async releaseDependants(workflowId, keys) {
      for (const part of chunk(keys, IN_LIST)) {
        await db.update(workflowSteps).set(wq.release).where(wq.stepsByKey(workflowId, part));
      }
    },
    async setDepsRemaining(taskId, depsRemaining) {
      await db.update(workflowSteps).set({ depsRemaining }).where(eq(workflowSteps.taskId, taskId));
    },

    // queues (admission)
    async getQueueSettings(name) {
      const [row] = await db.select().from(queues).where(eq(queues.name, name));
      return row ?? null;
    },
    async listQueueSettings(names) {
      if (names?.length === 0) return [];
      return db
        .select()
        .from(queues)
        .where(names ? inArray(queues.name, [...names]) : undefined)
        .orderBy(asc(queues.name));
    },
    async upsertQueueSettings(name, patch, at) {
      const set = { ...shared.definedOnly(patch), updatedAt: at };
      await db
        .insert(queues)
        .values({ name, maxInFlight: null, paused: false, ...set })
        .onDuplicateKeyUpdate({ set });
      const [row] = await db.select().from(queues).where(eq(queues.name, name));
      return row!;
    },
    async lockQueue(queue, at) {
      // The upsert takes the row's exclusive lock (creating the row if absent) without opening a
      // REPEATABLE READ snapshot; the locking read then returns the row as last committed.
      await db
        .insert(queues)
        .values({ name: queue, maxInFlight: null, paused: false, updatedAt: at })
        .onDuplicateKeyUpdate({ set: { name: sql`${queues.name}` } });
      const [row] = await db.select().from(queues).where(eq(queues.name, queue)).for('update');
      return row!;
    },
    async countQueueTasks(queue, statuses) {
      const rows = await db
        .select({
          queue: tasks.queue,
          status: tasks.status,
          concurrencyKey: tasks.concurrencyKey,
          n: count(),
        })
        .from(tasks)
        .where(q.admissionCounts(queue, statuses))
        .groupBy(tasks.queue, tasks.status, tasks.concurrencyKey);
      return rows.map((r) => ({ ...r, n: Number(r.n) }));
    },
    async listKnownQueues() {
      const rows = await db
        .selectDistinct({ queue: templates.queue })
        .from(templates)
        .where(isNull(templates.deletedAt));
      return rows.map((r) => r.queue);
    },
    async listTemplatesOfQueue(queue) {
      return selectTemplates(eq(templates.queue, queue));
    },
    async queueWaitingTasks(list, at) {
      const moved = new Set<string>();
      const patch = shared.queuedPatch(at);
      for (const [attempt, ids] of shared.idsByAttempt(list)) {
        for (const part of chunk(ids, IN_LIST)) {
          const matched = affected(await db.update(tasks).set(patch).where(q.waitingAt(part, attempt)));
          if (matched === part.length) {
            for (const id of part) moved.add(id);
            continue;
          }
          // Some moved on first (cancelled meanwhile): ours are those now QUEUED at this attempt
          // and time. A locking read sees the latest rows; the queue lock keeps other admissions out.
          const rows = await db
            .select({ id: tasks.id })
            .from(tasks)
            .where(
              and(
                inArray(tasks.id, part),
                eq(tasks.status, 'QUEUED'),
                eq(tasks.attempt, attempt),
                eq(tasks.queuedAt, at),
              ),
            )
            .for('update');
          for (const r of rows) moved.add(r.id);
        }
      }
      return moved;
    },
    async listWaitingKeys(queue, exceptTemplates) {
      // Grouped in tasks_admission_idx order (queue, status, key, priority, id): no sort.
      const rows = await db
        .select({
          concurrencyKey: tasks.concurrencyKey,
          priority: tasks.priority,
          firstId: min(tasks.id),
        })
        .from(tasks)
        .where(q.waitingIn(queue, exceptTemplates))
        .groupBy(tasks.concurrencyKey, tasks.priority);
      return rows.map((r) => ({
        concurrencyKey: r.concurrencyKey,
        priority: Number(r.priority),
        firstId: r.firstId ?? '',
      }));
    },
    async listWaitingHeads(queue, priority, wanted, exceptTemplates = []) {
      // One round trip: a flat UNION ALL of parenthesised branches, each one bounded index range.
      // Spelled out: drizzle's unionAll nests each union one level deeper, and MariaDB refuses
      // more than 63 levels (ER_TOO_HIGH_LEVEL_OF_NESTING_FOR_SELECT) - a pass over 64 keys.
      const out: WaitingHead[] = [];
      const except =
        exceptTemplates.length > 0
          ? ` AND \`template_id\` NOT IN (${exceptTemplates.map(() => '?').join(', ')})`
          : '';
      for (const run of chunk(wanted, MAX_HEAD_BRANCHES)) {
        if (run.length === 0) continue;
        const params: unknown[] = [];
        const branches = run.map((w) => {
          params.push(queue, ...exceptTemplates);
          if (w.concurrencyKey !== null) params.push(w.concurrencyKey);
          params.push(priority, w.limit);
          return (
            "(SELECT `id`, `concurrency_key`, `template_id` FROM `tasks` WHERE `queue` = ? AND `status` = 'WAITING'" +
            except +
            (w.concurrencyKey === null ? ' AND `concurrency_key` IS NULL' : ' AND `concurrency_key` = ?') +
            ' AND `priority` = ? ORDER BY `id` LIMIT ?)'
          );
        });
        const [rows] = (await h.raw.query(branches.join(' UNION ALL '), params)) as unknown as [
          Array<{ id: string; concurrency_key: string | null; template_id: string }>,
        ];
        for (const r of rows)
          out.push({ id: r.id, concurrencyKey: r.concurrency_key, templateId: r.template_id });
      }
      return out;
    },
    async hasWaiting(queue, minPriority) {
      const where =
        minPriority === undefined
          ? q.waitingIn(queue)
          : and(q.waitingIn(queue), gte(tasks.priority, minPriority));
      return (await db.select({ id: tasks.id }).from(tasks).where(where).limit(1)).length > 0;
    },
    async keyAdmission(queue, keys) {
      // One round trip: per key, a count over its in-flight range and a max over its waiting
      // range of tasks_admission_idx (the max is read off the index's last entry).
      const out: KeyAdmission[] = [];
      if (keys.length === 0) return out;
      for (const part of chunk([...new Set(keys)], MAX_HEAD_BRANCHES)) {
        const [rows] = (await h.raw.query(
          part.map(() => KEY_ADMISSION_BRANCH).join(' UNION ALL '),
          part.flatMap((k) => [k, queue, k, queue, k]),
        )) as unknown as [Array<{ k: string; n: number | string; p: number | string | null }>];
        for (const r of rows)
          out.push({
            concurrencyKey: r.k,
            inFlight: Number(r.n),
            topWaiting: r.p === null ? null : Number(r.p),
          });
      }
      return out;
    },
    async listWaitingQueues() {
      const rows = await db.selectDistinct({ queue: tasks.queue }).from(tasks).where(q.isStatus('WAITING'));
      return rows.map((r) => r.queue);
    },

    // leases
    async acquireLease(name, owner, now, ttlMs) {
      // The renewal (the common case) is one UPDATE. InnoDB's UPDATE locks the row and checks
      // the WHERE against its latest committed version, so two replicas cannot both take an
      // expired lease. affectedRows counts matched rows (FOUND_ROWS), so a renewal to the same
      // expiry still counts. If no row matched, the lease is held by another owner or absent:
      // the INSERT then takes it or hits the primary key (someone else holds it).
      const expiresAt = new Date(now.getTime() + ttlMs);
      const renewed = affected(
        await db
          .update(leases)
          .set({ owner, expiresAt })
          .where(q.takeableLease(name, owner, now)),
      );
      if (renewed > 0) return true;
      return insertedUnlessDuplicate(() => db.insert(leases).values({ name, owner, expiresAt }));
    },
    async releaseLease(name, owner) {
      await db.delete(leases).where(q.heldLease(name, owner));
    },
  };
}
