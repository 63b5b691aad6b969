// Every Store operation on SQLite, written once: synchronous drizzle calls on one better-sqlite3 connection.
import {
  and,
  asc,
  count,
  desc,
  eq,
  getTableColumns,
  gte,
  inArray,
  isNotNull,
  isNull,
  lt,
  max,
  min,
  notExists,
  sql,
} from 'drizzle-orm';
import type { Column } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import type {
  DeadLetterRecord,
  KeyAdmission,
  OutboxRecord,
  QueueCount,
  QueueRecord,
  StoreOps,
  TaskEventRecord,
  TaskGuard,
  TaskPatch,
  TaskRecord,
  TaskUpdate,
  TemplateRecord,
  WaitingHead,
  WorkerRecord,
  WorkflowStepRecord,
} from '../types.js';
import { insertPlan, powerOfTwoSizes } from '../bulk.js';
import type { InsertPlan } from '../bulk.js';
import * as shared from '../queries.js';
import { assertDistinctTasks, patchKeys } from '../batch-update.js';
import {
  BOUND_LIMIT,
  preparedIn,
  preparedRows,
  preparedWriteIn,
  preparedWriteInReturning,
  rowReader,
} from './prepared.js';
import { IN_FLIGHT_SQL, KEY_ADMISSION_SQL, WAITING_GROUPS_SQL, waitingHeadsSql } from './admission-sql.js';
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

export type SqliteDb = BetterSQLite3Database<Record<string, never>>;

/** StoreOps with plain return values: better-sqlite3 is synchronous. */
export type SyncOps = {
  [K in keyof StoreOps]: (...args: Parameters<StoreOps[K]>) => Awaited<ReturnType<StoreOps[K]>>;
};

// SQLite allows 32766 bound variables per statement; one per column per row. Past ~512 rows a
// statement gains nothing but prepare time.
const MAX_VARS = 32_000;
const MAX_ROWS = 512;
// SQLite's default limit on the terms of one compound SELECT is 500.
const MAX_HEAD_BRANCHES = 256;

/** `rows` as runs of power-of-two sizes up to `max` (see powerOfTwoSizes). */
function* runs<R>(rows: readonly R[], max: number): Generator<{ size: number; part: readonly R[] }> {
  let from = 0;
  for (const size of powerOfTwoSizes(rows.length, max)) {
    yield { size, part: rows.slice(from, from + size) };
    from += size;
  }
}

const quote = (identifier: string) => `"${identifier}"`;
const taskInsert = insertPlan<TaskRecord>(tasks, quote);
const taskInsertIfAbsent = insertPlan<TaskRecord>(tasks, quote, { suffix: 'ON CONFLICT DO NOTHING' });
const eventInsert = insertPlan<TaskEventRecord>(taskEvents, quote, { omit: ['id'] });
const outboxInsert = insertPlan<OutboxRecord>(outbox, quote, { omit: ['id'] });
const workerUpsert = insertPlan<WorkerRecord>(workers, quote, {
  suffix: `ON CONFLICT ("id") DO UPDATE SET ${Object.values(getTableColumns(workers))
    .filter((c) => c.name !== 'id')
    .map((c) => `"${c.name}" = excluded."${c.name}"`)
    .join(', ')}`,
});

const templateColumns = shared.templateRecordColumns(getTableColumns(templates));
const q = shared.storeQueries({ tasks, templates, leases, taskEvents, deadLetters });
const wq = workflowQueries({ workflows, workflowSteps });

/**
 * The operations over `db`. `atomic` wraps the multi-statement writes (chunked batches) so that
 * they are all-or-nothing outside a unit of work too.
 */
export function sqliteOps(
  db: SqliteDb,
  client: BetterSqlite3.Database,
  atomic: <T>(fn: () => T) => T,
): SyncOps {
  // Prepared multi-row INSERTs, cached per plan and power-of-two row count.
  const statements = new Map<InsertPlan<never>, Map<number, BetterSqlite3.Statement>>();
  const statement = <R>(plan: InsertPlan<R>, rows: number): BetterSqlite3.Statement => {
    let bySize = statements.get(plan as InsertPlan<never>);
    if (!bySize) statements.set(plan as InsertPlan<never>, (bySize = new Map()));
    let stmt = bySize.get(rows);
    if (!stmt) bySize.set(rows, (stmt = client.prepare(plan.sql(rows))));
    return stmt;
  };
  /** Inserts all rows in as few statements as the variable limit allows; returns rows changed. */
  const insertAll = <R>(plan: InsertPlan<R>, rows: readonly R[]): number => {
    if (rows.length === 0) return 0;
    const sizes = powerOfTwoSizes(rows.length, Math.min(MAX_ROWS, Math.floor(MAX_VARS / plan.width)));
    const run = () => {
      let from = 0;
      let changes = 0;
      for (const size of sizes) {
        changes += statement(plan, size).run(plan.values(rows, from, size)).changes;
        from += size;
      }
      return changes;
    };
    return sizes.length === 1 ? run() : atomic(run);
  };

  // Result handling updates hundreds of tasks per batch: a prepared UPDATE per patch shape
  // (columns set + guard form) instead of drizzle's builder, which costs more than the write.
  const taskColumns = getTableColumns(tasks) as Record<string, Column>;
  const updates = new Map<string, BetterSqlite3.Statement>();
  const updateTask = (id: string, patch: TaskPatch, guard: TaskGuard | undefined): boolean => {
    const keys = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined);
    const statuses = guard?.status;
    if (statuses?.length === 0) return false;
    const shape = `${keys.join(',')}|${statuses?.length ?? 0}|${guard?.attempt !== undefined}`;
    let stmt = updates.get(shape);
    if (!stmt) {
      const set = keys.map((k) => {
        const column = taskColumns[k];
        if (!column || k === 'id') throw new Error(`updateTask: ${k} is not an updatable task column`);
        return `"${column.name}" = ?`;
      });
      const where = ['"id" = ?'];
      if (statuses) where.push(`"status" IN (${statuses.map(() => '?').join(', ')})`);
      if (guard?.attempt !== undefined) where.push('"attempt" = ?');
      stmt = client.prepare(`UPDATE "tasks" SET ${set.join(', ')} WHERE ${where.join(' AND ')}`);
      if (updates.size < 500) updates.set(shape, stmt);
    }
    const values: unknown[] = keys.map((k) => {
      const value = (patch as Record<string, unknown>)[k];
      return value === null ? null : taskColumns[k]!.mapToDriverValue(value);
    });
    values.push(id);
    if (statuses) values.push(...statuses);
    if (guard?.attempt !== undefined) values.push(guard.attempt);
    return stmt.run(values).changes > 0;
  };

  // Per-row statements cost more than their row's writes (~6 µs each): the relay's dispatch
  // offsets and a result batch's compare-and-sets are one UPDATE … FROM (VALUES …) per run of rows,
  // cached per power-of-two row count (a VALUES row per task, joined on the primary key).
  const valuesList = (rows: number, width: number) => {
    const row = `(${Array.from({ length: width }, () => '?').join(', ')})`;
    return Array.from({ length: rows }, () => row).join(', ');
  };
  const offsetStatements = new Map<number, BetterSqlite3.Statement>();
  const offsetStatement = (size: number) => {
    let stmt = offsetStatements.get(size);
    if (!stmt) {
      stmt = client.prepare(
        `UPDATE "tasks" SET "dispatch_partition" = v.column2, "dispatch_offset" = v.column3` +
          ` FROM (VALUES ${valuesList(size, 3)}) AS v WHERE "tasks"."id" = v.column1 AND "tasks"."status" = 'QUEUED'`,
      );
      offsetStatements.set(size, stmt);
    }
    return stmt;
  };
  // updateTasks: per shape (columns set, guard statuses, whether the attempt is guarded), VALUES
  // rows of (id, the patch's values…, attempt); RETURNING the ids whose guard held.
  const batchStatements = new Map<string, BetterSqlite3.Statement>();
  const batchStatement = (
    shape: string,
    keys: readonly string[],
    guard: TaskGuard | undefined,
    size: number,
  ) => {
    const key = `${shape}#${size}`;
    let stmt = batchStatements.get(key);
    if (stmt) return stmt;
    const width = 1 + keys.length + (guard?.attempt !== undefined ? 1 : 0);
    const set = keys.map((k, i) => {
      const column = taskColumns[k];
      if (!column || k === 'id') throw new Error(`updateTasks: ${k} is not an updatable task column`);
      return `"${column.name}" = v.column${i + 2}`;
    });
    const where = ['"tasks"."id" = v.column1'];
    if (guard?.status) where.push(`"tasks"."status" IN (${guard.status.map(() => '?').join(', ')})`);
    if (guard?.attempt !== undefined) where.push(`"tasks"."attempt" = v.column${width}`);
    stmt = client
      .prepare(
        `UPDATE "tasks" SET ${set.join(', ')} FROM (VALUES ${valuesList(size, width)}) AS v` +
          ` WHERE ${where.join(' AND ')} RETURNING "tasks"."id"`,
      )
      .pluck();
    if (batchStatements.size < 500) batchStatements.set(key, stmt);
    return stmt;
  };
  const updateBatch = (updates: readonly TaskUpdate[]): Set<string> => {
    const changed = new Set<string>();
    const shapes = new Map<string, { keys: string[]; guard: TaskGuard | undefined; rows: unknown[][] }>();
    for (const u of updates) {
      const keys = patchKeys(u.patch);
      if (keys.length === 0) {
        // An empty patch only checks the guard.
        if (db.select({ id: tasks.id }).from(tasks).where(q.guardedTask(u.id, u.guard)).get())
          changed.add(u.id);
        continue;
      }
      if (u.guard?.status?.length === 0) continue;
      const shape = `${keys.join(',')}|${u.guard?.status?.join(',') ?? '-'}|${u.guard?.attempt !== undefined}`;
      let group = shapes.get(shape);
      if (!group) shapes.set(shape, (group = { keys, guard: u.guard, rows: [] }));
      const patch = u.patch as Record<string, unknown>;
      const row: unknown[] = [u.id];
      for (const k of keys) row.push(patch[k] === null ? null : taskColumns[k]!.mapToDriverValue(patch[k]));
      if (u.guard?.attempt !== undefined) row.push(u.guard.attempt);
      group.rows.push(row);
    }
    for (const [shape, { keys, guard, rows }] of shapes) {
      const width = rows[0]!.length;
      for (const { size, part } of runs(rows, Math.min(MAX_ROWS, Math.floor(MAX_VARS / width)))) {
        const stmt = batchStatement(shape, keys, guard, size);
        for (const id of stmt.all([...part.flat(), ...(guard?.status ?? [])]) as string[]) changed.add(id);
      }
    }
    return changed;
  };

  // The reads on every create and every result batch, and the relay's two statements: prepared once.
  const taskReader = rowReader<TaskRecord>(getTableColumns(tasks));
  const templateReader = rowReader<TemplateRecord>(templateColumns);
  const outboxReader = rowReader<OutboxRecord>(getTableColumns(outbox));
  const tasksById = preparedIn(client, taskReader, 'tasks', 'id');
  const tasksByKey = preparedIn(client, taskReader, 'tasks', 'idempotency_key');
  const templatesById = preparedIn(client, templateReader, 'templates', 'id');
  const liveTemplate = preparedRows(
    client,
    templateReader,
    `SELECT ${templateReader.columns} FROM "templates" WHERE "id" = ? AND "deleted_at" IS NULL`,
  );
  const templateByName = preparedRows(
    client,
    templateReader,
    `SELECT ${templateReader.columns} FROM "templates" WHERE "name_key" = ?`,
  );
  const unsentOutbox = preparedRows(
    client,
    outboxReader,
    `SELECT ${outboxReader.columns} FROM "outbox" WHERE "sent_at" IS NULL ORDER BY "id" ${BOUND_LIMIT}`,
  );
  const unsentOutboxAfter = preparedRows(
    client,
    outboxReader,
    `SELECT ${outboxReader.columns} FROM "outbox" WHERE "sent_at" IS NULL AND "id" > ? ORDER BY "id" ${BOUND_LIMIT}`,
  );
  const markSent = preparedWriteIn(
    client,
    (marks) => `UPDATE "outbox" SET "sent_at" = ? WHERE "id" IN (${marks})`,
  );
  const sentAt = outbox.sentAt as Column;
  // Admission's batch compare-and-set (shared.queuedPatch, spelled out: one prepared statement).
  const queueWaiting = preparedWriteInReturning(
    client,
    (marks) =>
      `UPDATE "tasks" SET "status" = 'QUEUED', "queued_at" = ?, "updated_at" = ?, "next_attempt_at" = NULL,` +
      ` "dispatch_partition" = NULL, "dispatch_offset" = NULL` +
      ` WHERE "status" = 'WAITING' AND "attempt" = ? AND "id" IN (${marks}) RETURNING "id"`,
  );
  const queuedAt = tasks.queuedAt as Column;
  // Every result batch looks up which of its finished tasks are workflow steps (usually none):
  // one cached primary-key IN read instead of drizzle's builder, which cost more than the lookup.
  const stepsByTask = preparedIn(
    client,
    rowReader<WorkflowStepRecord>(getTableColumns(workflowSteps)),
    'workflow_steps',
    'task_id',
  );
  // The other statements of every admission pass, prepared once (drizzle's builder costs more
  // than these one-index reads).
  const queueReader = rowReader<QueueRecord>(getTableColumns(queues));
  const queueColumns = getTableColumns(queues);
  const insertQueue = (() => {
    let stmt: BetterSqlite3.Statement | undefined;
    return (name: string, at: Date) => {
      stmt ??= client.prepare(
        `INSERT INTO "queues" ("name", "max_in_flight", "paused", "updated_at") VALUES (?, NULL, 0, ?) ON CONFLICT DO NOTHING`,
      );
      stmt.run(name, (queueColumns.updatedAt as Column).mapToDriverValue(at));
    };
  })();
  // Admission's gate reads the settings of the queues of every create batch.
  const queuesByName = preparedIn(client, queueReader, 'queues', 'name');
  const queueByName = preparedRows(
    client,
    queueReader,
    `SELECT ${queueReader.columns} FROM "queues" WHERE "name" = ?`,
  );
  const templatesOfQueue = preparedRows(
    client,
    templateReader,
    `SELECT ${templateReader.columns} FROM "templates" WHERE "queue" = ?`,
  );
  const inFlightOfQueue = preparedRows<QueueCount>(
    client,
    {
      columns: '',
      map: ([queue, status, concurrencyKey, n]) => ({
        queue: queue as string,
        status: status as QueueCount['status'],
        concurrencyKey: concurrencyKey as string | null,
        n: n as number,
      }),
    },
    IN_FLIGHT_SQL,
  );
  const firstWaiting = preparedRows(
    client,
    { columns: '', map: (raw) => raw[0] },
    `SELECT "id" FROM "tasks" WHERE "queue" = ? AND "status" = 'WAITING' LIMIT 1`,
  );
  const firstWaitingFrom = preparedRows(
    client,
    { columns: '', map: (raw) => raw[0] },
    `SELECT "id" FROM "tasks" WHERE "queue" = ? AND "status" = 'WAITING' AND "priority" >= ? LIMIT 1`,
  );
  const keyAdmission = preparedRows<KeyAdmission>(
    client,
    {
      columns: '',
      map: ([concurrencyKey, inFlight, topWaiting]) => ({
        concurrencyKey: concurrencyKey as string,
        inFlight: inFlight as number,
        topWaiting: topWaiting as number | null,
      }),
    },
    KEY_ADMISSION_SQL,
  );
  // listWaitingKeys as a skip-scan of tasks_admission_idx (see admission-sql.ts).
  const waitingGroups = preparedRows<{ concurrencyKey: string | null; priority: number; firstId: string }>(
    client,
    {
      columns: '',
      map: ([concurrencyKey, priority, firstId]) => ({
        concurrencyKey: concurrencyKey as string | null,
        priority: priority as number,
        firstId: firstId as string,
      }),
    },
    WAITING_GROUPS_SQL,
  );
  // Admission reads the heads of many keys per pass: one UNION ALL of bounded ranges of
  // tasks_admission_idx, three columns each (whole rows inside the compound cost several times
  // more). Cached per power-of-two branch count (padding branches read nothing: LIMIT 0) and per
  // whether templates are left out.
  const headStatements = new Map<string, BetterSqlite3.Statement>();
  const waitingHeads = (
    queue: string,
    priority: number,
    wanted: readonly { concurrencyKey: string | null; limit: number }[],
    exceptTemplates: readonly string[],
  ): WaitingHead[] => {
    const except = exceptTemplates.length > 0;

    const heads: WaitingHead[] = [];
    for (let from = 0; from < wanted.length; from += MAX_HEAD_BRANCHES) {
      const run = wanted.slice(from, from + MAX_HEAD_BRANCHES);
      let size = 1;
      while (size < run.length) size *= 2;
      let stmt = headStatements.get(`${size}:${except}`);
      if (!stmt) {
        stmt = client.prepare(waitingHeadsSql(size, except)).raw(true);
        headStatements.set(`${size}:${except}`, stmt);
      }
      const params: unknown[] = [];
      const excepted = JSON.stringify(exceptTemplates);
      for (let i = 0; i < size; i++) {
        const w = run[i];
        params.push(queue, w?.concurrencyKey ?? null, priority);
        if (except) params.push(excepted);
        params.push(w?.limit ?? 0);
      }
      for (const [id, concurrencyKey, templateId] of stmt.all(params) as [string, string | null, string][])
        heads.push({ id, concurrencyKey, templateId });
    }
    return heads;
  };
  const selectTasks = ({ where, orderBy, limit }: shared.TaskQuery) =>
    db.select().from(tasks).where(where).orderBy(orderBy).limit(limit).all();

  return {
    // templates
    insertTemplate(t) {
      db.insert(templates).values(shared.templateRow(t)).run();
    },
    updateTemplate(id, patch) {
      const live = q.liveTemplate(id);
      if (!shared.hasValues(patch))
        return db.select({ id: templates.id }).from(templates).where(live).get() !== undefined;
      return db.update(templates).set(shared.templateSet(patch)).where(live).run().changes > 0;
    },
    getTemplate(id) {
      return liveTemplate(id)[0] ?? null;
    },
    getTemplateIncludingDeleted(id) {
      return templatesById([id])[0] ?? null;
    },
    getTemplateByName(name) {
      return templateByName(name)[0] ?? null;
    },
    getTemplates(ids) {
      return templatesById(ids);
    },
    listTemplates(opts) {
      return db
        .select(templateColumns)
        .from(templates)
        .where(q.liveTemplates(opts))
        .orderBy(asc(templates.id))
        .all();
    },
    deleteTemplate(id, at) {
      return db.update(templates).set(shared.deletedTemplate(at)).where(q.liveTemplate(id)).run().changes > 0;
    },
    templatesVersion() {
      return shared.templatesVersionOf(
        db
          .select({ n: count(), at: max(templates.updatedAt) })
          .from(templates)
          .get(),
      );
    },

    // tasks
    insertTasks(rows) {
      insertAll(taskInsert, rows);
    },
    insertTaskIfAbsent(task) {
      return insertAll(taskInsertIfAbsent, [task]) > 0;
    },
    getTask(id) {
      return tasksById([id])[0] ?? null;
    },
    getTasks(ids) {
      return tasksById(ids);
    },
    getTasksByIdempotencyKeys(keys) {
      return tasksByKey(keys);
    },
    updateTask(id, patch, guard) {
      if (shared.hasValues(patch)) return updateTask(id, patch, guard);
      return db.select({ id: tasks.id }).from(tasks).where(q.guardedTask(id, guard)).get() !== undefined;
    },
    updateTasks(updates) {
      assertDistinctTasks(updates);
      return atomic(() => updateBatch(updates));
    },
    listTasks(f) {
      return shared.mergeNewest(
        q.listParts(f).map((part) => selectTasks(part)),
        f.limit,
      );
    },
    listDueTasks(now, limit) {
      return shared.mergeDue(
        selectTasks(q.duePending(now, limit)),
        selectTasks(q.dueRetrying(now, limit)),
        limit,
      );
    },
    nextDueAt() {
      const first = (at: typeof tasks.runAt | typeof tasks.nextAttemptAt, status: 'PENDING' | 'RETRYING') =>
        db
          .select({ at: min(at) })
          .from(tasks)
          .where(q.isStatus(status))
          .get()?.at;
      return shared.earliest(first(tasks.runAt, 'PENDING'), first(tasks.nextAttemptAt, 'RETRYING'));
    },
    listOverdueTasks(now, graceMs, limit) {
      const cutoff = new Date(now.getTime() - graceMs);
      // Times are epoch milliseconds: the deadline is a sum.
      return selectTasks(
        q.overdue(cutoff, sql`${tasks.startedAt} + ${tasks.timeoutMs} < ${cutoff.getTime()}`, limit),
      );
    },
    listLostDispatches(lost) {
      return selectTasks(q.lostDispatches(lost));
    },
    recordDispatchOffsets(rows) {
      // A task published twice in one batch (a new attempt) keeps its last offset, as a row per
      // UPDATE in order would; UPDATE … FROM takes any one of several matches.
      const last = new Map(rows.map((r) => [r.taskId, r]));
      const values = [...last.values()].map((r) => [r.taskId, r.partition, r.offset]);
      if (values.length === 0) return;
      const run = () => {
        for (const { size, part } of runs(values, MAX_ROWS)) offsetStatement(size).run(part.flat());
      };
      return values.length <= MAX_ROWS ? run() : atomic(run);
    },
    hasActiveTask(templateId) {
      return (
        db.select({ id: tasks.id }).from(tasks).where(q.activeOf(templateId)).limit(1).get() !== undefined
      );
    },
    lastScheduledFor(templateId) {
      return (
        db
          .select({ at: max(tasks.scheduledFor) })
          .from(tasks)
          // IS NOT NULL changes nothing for max() but lets SQLite read the partial tasks_schedule_uq.
          .where(and(eq(tasks.templateId, templateId), isNotNull(tasks.scheduledFor)))
          .get()?.at ?? null
      );
    },

    // events
    insertEvents(events) {
      insertAll(eventInsert, events);
    },
    listEvents(taskId) {
      return db
        .select()
        .from(taskEvents)
        .where(eq(taskEvents.taskId, taskId))
        .orderBy(asc(taskEvents.id))
        .all();
    },
    listEventsAfter(afterId, limit, filter) {
      if (filter?.ids?.length === 0) return [];
      return db
        .select({ ...getTableColumns(taskEvents), templateId: tasks.templateId, queue: tasks.queue })
        .from(taskEvents)
        .leftJoin(tasks, eq(tasks.id, taskEvents.taskId))
        .where(q.eventsAfter(afterId, filter))
        .orderBy(asc(taskEvents.id))
        .limit(limit)
        .all();
    },
    taskStats(since) {
      const byQueueStatus = db
        .select({ queue: tasks.queue, status: tasks.status, n: count() })
        .from(tasks)
        .groupBy(tasks.queue, tasks.status)
        .all();
      const minute = sql<number>`(${tasks.finishedAt} - CAST(${since.getTime()} AS INTEGER)) / 60000`;
      const finished = db
        .select({ m: minute, status: tasks.status, n: count() })
        .from(tasks)
        // `+status`: with measured statistics SQLite would otherwise read every COMPLETED row through
        // tasks_status_id_idx; the unary plus leaves it the finished_at range (covering).
        .where(and(gte(tasks.finishedAt, since), sql`+${tasks.status} IN ('COMPLETED', 'FAILED')`))
        .groupBy(minute, tasks.status)
        .all();
      return {
        byQueueStatus,
        finishedPerMinute: finished.map((r) => ({
          minute: since.getTime() + Number(r.m) * 60_000,
          status: r.status as 'COMPLETED' | 'FAILED',
          n: r.n,
        })),
      };
    },

    maxEventId() {
      return (
        db
          .select({ id: max(taskEvents.id) })
          .from(taskEvents)
          .get()?.id ?? 0
      );
    },

    // outbox
    insertOutbox(rows) {
      insertAll(outboxInsert, rows);
    },
    listUnsentOutbox(limit, afterId) {
      return afterId === undefined ? unsentOutbox(limit) : unsentOutboxAfter(afterId, limit);
    },
    countUnsentOutbox() {
      return db.select({ n: count() }).from(outbox).where(isNull(outbox.sentAt)).get()?.n ?? 0;
    },
    markOutboxSent(ids, at) {
      if (ids.length === 0) return;
      const mark = () => markSent([sentAt.mapToDriverValue(at)], ids);
      if (ids.length <= 512) mark();
      else atomic(mark);
    },
    pruneOutbox(before, limit) {
      if (limit === undefined) return db.delete(outbox).where(lt(outbox.sentAt, before)).run().changes;
      // SQLite has no DELETE … LIMIT (unless compiled in): the ids first, on the sent_at index.
      const ids = db
        .select({ id: outbox.id })
        .from(outbox)
        .where(lt(outbox.sentAt, before))
        .orderBy(asc(outbox.sentAt))
        .limit(limit)
        .all()
        .map((r) => r.id);
      if (ids.length === 0) return 0;
      return db.delete(outbox).where(inArray(outbox.id, ids)).run().changes;
    },

    // dead letters
    insertDeadLetters(rows) {
      if (rows.length === 0) return 0;
      // 15 columns a row: 500 rows stay far below the bound-variable limit.
      const run = () => {
        let added = 0;
        for (let i = 0; i < rows.length; i += 500) {
          const part = rows.slice(i, i + 500).map(({ id: _id, ...r }) => r);
          added += db.insert(deadLetters).values(part).onConflictDoNothing().run().changes;
        }
        return added;
      };
      return rows.length <= 500 ? run() : atomic(run);
    },
    listDeadLetters(f) {
      return db
        .select()
        .from(deadLetters)
        .where(q.deadLetters(f))
        .orderBy(desc(deadLetters.id))
        .limit(f.limit)
        .all() as DeadLetterRecord[];
    },
    getDeadLetter(topic, partition, offset) {
      return (
        (db
          .select()
          .from(deadLetters)
          .where(
            and(
              eq(deadLetters.topic, topic),
              eq(deadLetters.partition, partition),
              eq(deadLetters.offset, offset),
            ),
          )
          .get() as DeadLetterRecord | undefined) ?? null
      );
    },
    insertDlqReplays(rows) {
      if (rows.length === 0) return;
      db.insert(dlqReplays)
        .values(rows.map(({ id: _id, ...r }) => r))
        .run();
    },
    listDlqReplays(ids) {
      if (ids.length === 0) return [];
      return db
        .select()
        .from(dlqReplays)
        .where(inArray(dlqReplays.deadLetterId, [...ids]))
        .orderBy(asc(dlqReplays.id))
        .all();
    },
    pruneDeadLetters(before, limit) {
      return atomic(() => {
        const ids = db
          .select({ id: deadLetters.id })
          .from(deadLetters)
          .where(lt(deadLetters.indexedAt, before))
          .orderBy(asc(deadLetters.indexedAt))
          .limit(limit)
          .all()
          .map((r) => r.id);
        if (ids.length === 0) return 0;
        db.delete(dlqReplays).where(inArray(dlqReplays.deadLetterId, ids)).run();
        return db.delete(deadLetters).where(inArray(deadLetters.id, ids)).run().changes;
      });
    },

    // task retention
    purgeFinishedWorkflows(scope) {
      return atomic(() => {
        const found = db
          .select({ id: workflows.id, steps: workflows.stepsTotal })
          .from(workflows)
          .where(wq.purgeable(scope))
          .orderBy(asc(workflows.id))
          .limit(scope.limit)
          .all();
        const chosen = wholeWorkflowsWithin(found, scope.limit);
        const none = { workflows: 0, tasks: 0, events: 0, more: false };
        if (chosen.length === 0) return none;
        const more = chosen.length < found.length || found.length === scope.limit;
        const steps = db
          .select({ taskId: workflowSteps.taskId, workflowId: workflowSteps.workflowId })
          .from(workflowSteps)
          .where(inArray(workflowSteps.workflowId, chosen))
          .all();
        const stepIds = steps.map((st) => st.taskId);
        const unfinished = new Set(
          stepIds.length === 0
            ? []
            : db
                .select({ id: tasks.id })
                .from(tasks)
                .where(q.unfinishedIn(stepIds))
                .all()
                .map((r) => r.id),
        );
        const { ids, taskIds } = purgeableSteps(chosen, steps, unfinished);
        if (ids.length === 0) return { ...none, more };
        let deletedTasks = 0;
        let events = 0;
        if (taskIds.length > 0) {
          deletedTasks = db.delete(tasks).where(q.finishedIn(taskIds)).run().changes;
          const newest =
            db
              .select({ id: max(taskEvents.id) })
              .from(taskEvents)
              .get()?.id ?? 0;
          events = db
            .delete(taskEvents)
            .where(and(inArray(taskEvents.taskId, taskIds), lt(taskEvents.id, newest)))
            .run().changes;
        }
        db.delete(workflowSteps).where(inArray(workflowSteps.workflowId, ids)).run();
        const deleted = db.delete(workflows).where(inArray(workflows.id, ids)).run().changes;
        return { workflows: deleted, tasks: deletedTasks, events, more };
      });
    },

    purgeFinishedTasks(scope) {
      return atomic(() => {
        const ids = db
          .select({ id: tasks.id })
          .from(tasks)
          .where(
            and(
              q.purgeable(scope),
              // Workflow steps stay: their workflow reads their results (retry, $refs, GET /workflows/{id}).
              notExists(
                db
                  .select({ one: sql`1` })
                  .from(workflowSteps)
                  .where(eq(workflowSteps.taskId, tasks.id)),
              ),
            ),
          )
          .limit(scope.limit)
          .all()
          .map((r) => r.id);
        if (ids.length === 0) return { tasks: 0, events: 0 };
        const deleted = db.delete(tasks).where(q.finishedIn(ids)).run().changes;
        const newest =
          db
            .select({ id: max(taskEvents.id) })
            .from(taskEvents)
            .get()?.id ?? 0;
        const events = db
          .delete(taskEvents)
          .where(
            and(
              inArray(taskEvents.taskId, ids),
              notExists(
                db
                  .select({ one: sql`1` })
                  .from(tasks)
                  .where(eq(tasks.id, taskEvents.taskId)),
              ),
              // The newest event stays: its rowid is what keeps the next one's id above every id
              // a stream client has seen (see schema.ts).
              lt(taskEvents.id, newest),
            ),
          )
          .run().changes;
        return { tasks: deleted, events };
      });
    },

    // workers
    upsertWorkers(rows) {
      insertAll(workerUpsert, rows);
    },
    listWorkers() {
      return db.select().from(workers).orderBy(asc(workers.id)).all();
    },

    // workflows
    insertWorkflow(w, steps) {
      return atomic(() => {
        if (db.insert(workflows).values(w).onConflictDoNothing().run().changes === 0) return false;
        for (let i = 0; i < steps.length; i += 500) {
          db.insert(workflowSteps)
            .values(steps.slice(i, i + 500))
            .run();
        }
        return true;
      });
    },
    getWorkflow(id) {
      return db.select().from(workflows).where(eq(workflows.id, id)).get() ?? null;
    },
    listWorkflows(f) {
      const { where, orderBy, limit } = wq.list(f);
      return db.select().from(workflows).where(where).orderBy(orderBy).limit(limit).all();
    },
    updateWorkflow(id, patch, guard) {
      return db.update(workflows).set(patch).where(wq.guarded(id, guard)).run().changes > 0;
    },
    addWorkflowProgress(id, delta, at) {
      db.update(workflows).set(wq.progress(delta, at)).where(eq(workflows.id, id)).run();
      return db.select().from(workflows).where(eq(workflows.id, id)).get() ?? null;
    },
    listWorkflowSteps(workflowId) {
      return db
        .select()
        .from(workflowSteps)
        .where(eq(workflowSteps.workflowId, workflowId))
        .orderBy(asc(workflowSteps.position))
        .all();
    },
    getStepsOfTasks(taskIds) {
      return stepsByTask(taskIds);
    },
    getWorkflowStepsByKey(workflowId, keys) {
      if (keys.length === 0) return [];
      const out = [];
      for (let i = 0; i < keys.length; i += 500) {
        out.push(
          ...db
            .select()
            .from(workflowSteps)
            .where(wq.stepsByKey(workflowId, keys.slice(i, i + 500)))
            .all(),
        );
      }
      return out;
    },
    releaseDependants(workflowId, keys) {
      for (let i = 0; i < keys.length; i += 500) {
        db.update(workflowSteps)
          .set(wq.release)
          .where(wq.stepsByKey(workflowId, keys.slice(i, i + 500)))
          .run();
      }
    },
    setDepsRemaining(taskId, depsRemaining) {
      db.update(workflowSteps).set({ depsRemaining }).where(eq(workflowSteps.taskId, taskId)).run();
    },

    // queues (admission)
    getQueueSettings(name) {
      return queueByName(name)[0] ?? null;
    },
    listQueueSettings(names) {
      if (names?.length === 0) return [];
      if (names?.length === 1) return queueByName(names[0]);
      if (names) return queuesByName(names).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return db
        .select()
        .from(queues)
        .where(names ? inArray(queues.name, [...names]) : undefined)
        .orderBy(asc(queues.name))
        .all();
    },
    upsertQueueSettings(name, patch, at) {
      const set = { ...shared.definedOnly(patch), updatedAt: at };
      db.insert(queues)
        .values({ name, maxInFlight: null, paused: false, ...set })
        .onConflictDoUpdate({ target: queues.name, set })
        .run();
      return db.select().from(queues).where(eq(queues.name, name)).get()!;
    },
    lockQueue(queue, at) {
      // A unit of work holds SQLite's write lock from BEGIN IMMEDIATE: admission is serial already.
      insertQueue(queue, at);
      return queueByName(queue)[0]!;
    },
    countQueueTasks(queue, statuses) {
      // Admission's count (one queue, in flight) on its prepared statement.
      if (
        queue !== undefined &&
        statuses?.length === 2 &&
        statuses.includes('QUEUED') &&
        statuses.includes('RUNNING')
      )
        return inFlightOfQueue(queue);
      return db
        .select({
          queue: tasks.queue,
          status: tasks.status,
          concurrencyKey: tasks.concurrencyKey,
          n: count(),
        })
        .from(tasks)
        .where(q.admissionCounts(queue, statuses))
        .groupBy(tasks.queue, tasks.status, tasks.concurrencyKey)
        .all();
    },
    listKnownQueues() {
      const rows = db
        .selectDistinct({ queue: templates.queue })
        .from(templates)
        .where(isNull(templates.deletedAt))
        .all();
      return rows.map((r) => r.queue);
    },
    listTemplatesOfQueue(queue) {
      return templatesOfQueue(queue);
    },
    queueWaitingTasks(list, at) {
      const moved = new Set<string>();
      const when = queuedAt.mapToDriverValue(at);
      for (const [attempt, ids] of shared.idsByAttempt(list)) {
        for (const id of queueWaiting([when, when, attempt], ids)) moved.add(id as string);
      }
      return moved;
    },
    listWaitingKeys(queue, exceptTemplates) {
      if (!exceptTemplates?.length) return waitingGroups({ queue });
      // Paused templates' tasks left out: the grouped read, in tasks_admission_idx order (no sort).
      return db
        .select({
          concurrencyKey: tasks.concurrencyKey,
          priority: tasks.priority,
          firstId: min(tasks.id),
        })
        .from(tasks)
        .where(q.waitingIn(queue, exceptTemplates))
        .groupBy(tasks.concurrencyKey, tasks.priority)
        .all()
        .map((r) => ({ concurrencyKey: r.concurrencyKey, priority: r.priority, firstId: r.firstId ?? '' }));
    },
    listWaitingHeads(queue, priority, wanted, exceptTemplates = []) {
      return waitingHeads(queue, priority, wanted, exceptTemplates);
    },
    hasWaiting(queue, minPriority) {
      return (
        (minPriority === undefined ? firstWaiting(queue) : firstWaitingFrom(queue, minPriority)).length > 0
      );
    },
    keyAdmission(queue, keys) {
      if (keys.length === 0) return [];
      return keyAdmission({ queue, keys: JSON.stringify([...new Set(keys)]) });
    },
    listWaitingQueues() {
      return db
        .selectDistinct({ queue: tasks.queue })
        .from(tasks)
        .where(q.isStatus('WAITING'))
        .all()
        .map((r) => r.queue);
    },

    // leases
    acquireLease(name, owner, now, ttlMs) {
      // The renewal (the common case) is one UPDATE. A single statement holds the database's
      // write lock, so two replicas cannot both take an expired lease. If no row matched, the
      // lease is either held by another owner (the insert does nothing) or absent (the insert
      // takes it, unless another replica's insert got there first).
      const expiresAt = new Date(now.getTime() + ttlMs);
      const renewed = db
        .update(leases)
        .set({ owner, expiresAt })
        .where(q.takeableLease(name, owner, now))
        .run();
      if (renewed.changes > 0) return true;
      return db.insert(leases).values({ name, owner, expiresAt }).onConflictDoNothing().run().changes > 0;
    },
    releaseLease(name, owner) {
      db.delete(leases).where(q.heldLease(name, owner)).run();
    },
  };
}
