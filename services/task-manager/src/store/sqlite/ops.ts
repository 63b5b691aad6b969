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
  isNull,
  lt,
  lte,
  max,
  min,
  or,
  sql,
} from 'drizzle-orm';
import type { Column, SQL } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import type {
  OutboxRecord,
  StoreOps,
  TaskEventRecord,
  TaskGuard,
  TaskPatch,
  TaskRecord,
  TemplatePatch,
  TemplateRecord,
  WorkerRecord,
} from '../types.js';
import { insertPlan, powerOfTwoSizes } from '../bulk.js';
import type { InsertPlan } from '../bulk.js';
import { preparedIn, preparedRows, preparedWriteIn, rowReader } from './prepared.js';
import { leases, outbox, taskEvents, tasks, templates, workers } from './schema.js';

export type SqliteDb = BetterSQLite3Database<Record<string, never>>;

/** StoreOps with plain return values: better-sqlite3 is synchronous. */
export type SyncOps = {
  [K in keyof StoreOps]: (...args: Parameters<StoreOps[K]>) => Awaited<ReturnType<StoreOps[K]>>;
};

// SQLite allows 32766 bound variables per statement; one per column per row. Past ~512 rows a
// statement gains nothing but prepare time.
const MAX_VARS = 32_000;
const MAX_ROWS = 512;

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

const { nameKey: _nameKey, ...templateColumns } = getTableColumns(templates);

// Literal statuses (not bound parameters) so SQLite can use the partial indexes in schema.ts.
const isStatus = (status: 'PENDING' | 'QUEUED' | 'RUNNING' | 'RETRYING') =>
  sql`${tasks.status} = ${sql.raw(`'${status}'`)}`;
const isActive = sql`${tasks.status} IN ('PENDING', 'QUEUED', 'RUNNING', 'RETRYING')`;

function templateRow(t: TemplateRecord) {
  return { ...t, nameKey: t.deletedAt ? null : t.name };
}

/** A template patch plus the name_key it implies (see schema.ts). */
function templateSet(patch: TemplatePatch): Record<string, unknown> {
  const set: Record<string, unknown> = { ...patch };
  if (patch.name !== undefined) set.nameKey = patch.name;
  if (patch.deletedAt) set.nameKey = null;
  return set;
}

function hasValues(patch: object): boolean {
  return Object.values(patch).some((v) => v !== undefined);
}

function byDue(due: (t: TaskRecord) => number) {
  return (a: TaskRecord, b: TaskRecord) => due(a) - due(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

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
    `SELECT ${outboxReader.columns} FROM "outbox" WHERE "sent_at" IS NULL ORDER BY "id" LIMIT ?`,
  );
  const markSent = preparedWriteIn(
    client,
    (marks) => `UPDATE "outbox" SET "sent_at" = ? WHERE "id" IN (${marks})`,
  );
  const sentAt = outbox.sentAt as Column;

  return {
    // templates
    insertTemplate(t) {
      db.insert(templates).values(templateRow(t)).run();
    },
    updateTemplate(id, patch) {
      const live = and(eq(templates.id, id), isNull(templates.deletedAt));
      if (!hasValues(patch))
        return db.select({ id: templates.id }).from(templates).where(live).get() !== undefined;
      return db.update(templates).set(templateSet(patch)).where(live).run().changes > 0;
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
      const cron = opts?.cronOnly ? sql`${templates.cronExpression} IS NOT NULL` : undefined;
      return db
        .select(templateColumns)
        .from(templates)
        .where(and(isNull(templates.deletedAt), cron))
        .orderBy(asc(templates.id))
        .all();
    },
    deleteTemplate(id, at) {
      return (
        db
          .update(templates)
          .set({ deletedAt: at, updatedAt: at, nameKey: null })
          .where(and(eq(templates.id, id), isNull(templates.deletedAt)))
          .run().changes > 0
      );
    },
    templatesVersion() {
      const row = db
        .select({ n: count(), at: max(templates.updatedAt) })
        .from(templates)
        .get();
      return `${row?.n ?? 0}:${row?.at?.getTime() ?? 0}`;
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
      if (hasValues(patch)) return updateTask(id, patch, guard);
      const where = and(
        eq(tasks.id, id),
        guard?.status ? inArray(tasks.status, [...guard.status]) : undefined,
        guard?.attempt !== undefined ? eq(tasks.attempt, guard.attempt) : undefined,
      );
      return db.select({ id: tasks.id }).from(tasks).where(where).get() !== undefined;
    },
    listTasks(f) {
      return db
        .select()
        .from(tasks)
        .where(
          and(
            f.status && f.status.length > 0 ? inArray(tasks.status, f.status) : undefined,
            f.templateId !== undefined ? eq(tasks.templateId, f.templateId) : undefined,
            f.createdFrom ? gte(tasks.createdAt, f.createdFrom) : undefined,
            f.createdTo ? lt(tasks.createdAt, f.createdTo) : undefined,
            f.beforeId !== undefined ? lt(tasks.id, f.beforeId) : undefined,
          ),
        )
        .orderBy(desc(tasks.id))
        .limit(f.limit)
        .all();
    },
    listDueTasks(now, limit) {
      const pending = db
        .select()
        .from(tasks)
        .where(and(isStatus('PENDING'), lte(tasks.runAt, now)))
        .orderBy(asc(tasks.runAt))
        .limit(limit)
        .all();
      const retrying = db
        .select()
        .from(tasks)
        .where(and(isStatus('RETRYING'), lte(tasks.nextAttemptAt, now)))
        .orderBy(asc(tasks.nextAttemptAt))
        .limit(limit)
        .all();
      const due = (t: TaskRecord) => (t.status === 'PENDING' ? t.runAt : t.nextAttemptAt)?.getTime() ?? 0;
      return [...pending, ...retrying].sort(byDue(due)).slice(0, limit);
    },
    nextDueAt() {
      const pending = db
        .select({ at: min(tasks.runAt) })
        .from(tasks)
        .where(isStatus('PENDING'))
        .get()?.at;
      const retrying = db
        .select({ at: min(tasks.nextAttemptAt) })
        .from(tasks)
        .where(isStatus('RETRYING'))
        .get()?.at;
      if (!pending || !retrying) return pending ?? retrying ?? null;
      return pending <= retrying ? pending : retrying;
    },
    listOverdueTasks(now, graceMs, limit) {
      const cutoff = new Date(now.getTime() - graceMs);
      // started_at >= cutoff can never be overdue (timeouts are >= 0): a range on the partial index.
      return db
        .select()
        .from(tasks)
        .where(
          and(
            isStatus('RUNNING'),
            lt(tasks.startedAt, cutoff),
            sql`${tasks.startedAt} + ${tasks.timeoutMs} < ${cutoff.getTime()}` as SQL,
          ),
        )
        .orderBy(asc(tasks.startedAt))
        .limit(limit)
        .all();
    },
    listLostDispatches({ queue, partition, belowOffset, queuedBefore, limit }) {
      return db
        .select()
        .from(tasks)
        .where(
          and(
            isStatus('QUEUED'),
            lt(tasks.queuedAt, queuedBefore),
            eq(tasks.queue, queue),
            eq(tasks.dispatchPartition, partition),
            lt(tasks.dispatchOffset, belowOffset),
          ),
        )
        .orderBy(asc(tasks.queuedAt))
        .limit(limit)
        .all();
    },
    recordDispatchOffsets(rows) {
      const run = () => {
        for (const r of rows)
          updateTask(
            r.taskId,
            { dispatchPartition: r.partition, dispatchOffset: r.offset },
            { status: ['QUEUED'] },
          );
      };
      return rows.length <= 1 ? run() : atomic(run);
    },
    hasActiveTask(templateId) {
      const row = db
        .select({ id: tasks.id })
        .from(tasks)
        .where(and(eq(tasks.templateId, templateId), isActive))
        .limit(1)
        .get();
      return row !== undefined;
    },
    lastScheduledFor(templateId) {
      return (
        db
          .select({ at: max(tasks.scheduledFor) })
          .from(tasks)
          .where(eq(tasks.templateId, templateId))
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

    // outbox
    insertOutbox(rows) {
      insertAll(outboxInsert, rows);
    },
    listUnsentOutbox(limit) {
      return unsentOutbox(limit);
    },
    markOutboxSent(ids, at) {
      if (ids.length === 0) return;
      const mark = () => markSent([sentAt.mapToDriverValue(at)], ids);
      if (ids.length <= 512) mark();
      else atomic(mark);
    },
    pruneOutbox(before) {
      return db.delete(outbox).where(lt(outbox.sentAt, before)).run().changes;
    },

    // workers
    upsertWorkers(rows) {
      insertAll(workerUpsert, rows);
    },
    listWorkers() {
      return db.select().from(workers).orderBy(asc(workers.id)).all();
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
        .where(and(eq(leases.name, name), or(eq(leases.owner, owner), lt(leases.expiresAt, now))))
        .run().changes;
      if (renewed > 0) return true;
      return db.insert(leases).values({ name, owner, expiresAt }).onConflictDoNothing().run().changes > 0;
    },
    releaseLease(name, owner) {
      db.delete(leases)
        .where(and(eq(leases.name, name), eq(leases.owner, owner)))
        .run();
    },
  };
}
