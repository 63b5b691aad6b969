// Every Store operation on MySQL/MariaDB, written once over a drizzle handle (the pool or a transaction).
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
import type { MySqlDatabase } from 'drizzle-orm/mysql-core';
import type { MySql2PreparedQueryHKT, MySql2QueryResultHKT } from 'drizzle-orm/mysql2';
import type { Pool, PoolConnection } from 'mysql2/promise';
import type {
  OutboxRecord,
  StoreOps,
  TaskEventRecord,
  TaskRecord,
  TemplatePatch,
  TemplateRecord,
  WorkerRecord,
} from '../types.js';
import { UniqueViolation } from '../types.js';
import { insertPlan } from '../bulk.js';
import type { InsertPlan } from '../bulk.js';
import { chunk } from '../chunk.js';
import { translateMysqlError } from './errors.js';
import { leases, outbox, taskEvents, tasks, templates, workers } from './schema.js';

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
const jsonSize = (value: unknown) => (value == null ? 0 : (JSON.stringify(value)?.length ?? 0));
const taskSize = (t: TaskRecord) => 600 + jsonSize(t.params) + jsonSize(t.result) + jsonSize(t.error);

const { nameKey: _nameKey, ...templateColumns } = getTableColumns(templates);

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

const ACTIVE = ['PENDING', 'QUEUED', 'RUNNING', 'RETRYING'] as const;

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

/** affectedRows of an UPDATE/DELETE (mysql2 sets FOUND_ROWS: matched rows, changed or not). */
function affected(result: unknown): number {
  return (result as [{ affectedRows: number }])[0].affectedRows;
}

/** The operations over `db`; unique-key errors are translated by the caller (index.ts). */
export function mysqlOps(h: MysqlHandle, atomic: Atomic): StoreOps {
  const { db } = h;
  const inChunks = async <T, R>(values: readonly T[], fn: (part: T[]) => Promise<R[]>): Promise<R[]> => {
    if (values.length === 0) return [];
    const out: R[] = [];
    for (const part of chunk(values, IN_LIST)) out.push(...(await fn(part)));
    return out;
  };
  /** One multi-row INSERT per chunk; several chunks share one transaction. */
  const insertAll = async <R>(plan: InsertPlan<R>, rows: readonly R[], sizeOf?: (row: R) => number) => {
    if (rows.length === 0) return;
    const parts = chunk(rows, MAX_ROWS, sizeOf, MAX_BYTES);
    const insert = (target: MysqlHandle, part: R[]) =>
      target.raw.query(plan.sql(part.length), plan.values(part));
    if (parts.length === 1) await insert(h, parts[0]!);
    else
      await atomic(async (tx) => {
        for (const part of parts) await insert(tx, part);
      });
  };
  const selectTasks = () => db.select().from(tasks);

  return {
    // templates
    async insertTemplate(t) {
      await db.insert(templates).values(templateRow(t));
    },
    async updateTemplate(id, patch) {
      const live = and(eq(templates.id, id), isNull(templates.deletedAt));
      if (!hasValues(patch))
        return (await db.select({ id: templates.id }).from(templates).where(live)).length > 0;
      return affected(await db.update(templates).set(templateSet(patch)).where(live)) > 0;
    },
    async getTemplate(id) {
      const [row] = await db
        .select(templateColumns)
        .from(templates)
        .where(and(eq(templates.id, id), isNull(templates.deletedAt)));
      return row ?? null;
    },
    async getTemplateIncludingDeleted(id) {
      const [row] = await db.select(templateColumns).from(templates).where(eq(templates.id, id));
      return row ?? null;
    },
    async getTemplateByName(name) {
      const [row] = await db.select(templateColumns).from(templates).where(eq(templates.nameKey, name));
      return row ?? null;
    },
    getTemplates(ids) {
      return inChunks(ids, (part) =>
        db.select(templateColumns).from(templates).where(inArray(templates.id, part)),
      );
    },
    listTemplates(opts) {
      const cron = opts?.cronOnly ? sql`${templates.cronExpression} IS NOT NULL` : undefined;
      return db
        .select(templateColumns)
        .from(templates)
        .where(and(isNull(templates.deletedAt), cron))
        .orderBy(asc(templates.id));
    },
    async deleteTemplate(id, at) {
      const result = await db
        .update(templates)
        .set({ deletedAt: at, updatedAt: at, nameKey: null })
        .where(and(eq(templates.id, id), isNull(templates.deletedAt)));
      return affected(result) > 0;
    },
    async templatesVersion() {
      const [row] = await db.select({ n: count(), at: max(templates.updatedAt) }).from(templates);
      return `${row?.n ?? 0}:${row?.at?.getTime() ?? 0}`;
    },

    // tasks
    insertTasks(rows) {
      return insertAll(taskInsert, rows, taskSize);
    },
    async insertTaskIfAbsent(task) {
      // Not INSERT IGNORE: that also turns bad values into warnings. A duplicate key fails only
      // this statement, not the surrounding transaction.
      try {
        await h.raw.query(taskInsert.sql(1), taskInsert.values([task]));
        return true;
      } catch (err) {
        if (translateMysqlError(err) instanceof UniqueViolation) return false;
        throw err;
      }
    },
    async getTask(id) {
      const [row] = await selectTasks().where(eq(tasks.id, id));
      return row ?? null;
    },
    getTasks(ids) {
      return inChunks(ids, (part) => selectTasks().where(inArray(tasks.id, part)));
    },
    getTasksByIdempotencyKeys(keys) {
      return inChunks(keys, (part) => selectTasks().where(inArray(tasks.idempotencyKey, part)));
    },
    async updateTask(id, patch, guard) {
      const where = and(
        eq(tasks.id, id),
        guard?.status ? inArray(tasks.status, [...guard.status]) : undefined,
        guard?.attempt !== undefined ? eq(tasks.attempt, guard.attempt) : undefined,
      );
      if (!hasValues(patch)) return (await db.select({ id: tasks.id }).from(tasks).where(where)).length > 0;
      return affected(await db.update(tasks).set(patch).where(where)) > 0;
    },
    listTasks(f) {
      return selectTasks()
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
        .limit(f.limit);
    },
    async listDueTasks(now, limit) {
      const [pending, retrying] = await Promise.all([
        selectTasks()
          .where(and(eq(tasks.status, 'PENDING'), lte(tasks.runAt, now)))
          .orderBy(asc(tasks.runAt))
          .limit(limit),
        selectTasks()
          .where(and(eq(tasks.status, 'RETRYING'), lte(tasks.nextAttemptAt, now)))
          .orderBy(asc(tasks.nextAttemptAt))
          .limit(limit),
      ]);
      const due = (t: TaskRecord) => (t.status === 'PENDING' ? t.runAt : t.nextAttemptAt)?.getTime() ?? 0;
      return [...pending, ...retrying].sort(byDue(due)).slice(0, limit);
    },
    async nextDueAt() {
      const [[p], [r]] = await Promise.all([
        db
          .select({ at: min(tasks.runAt) })
          .from(tasks)
          .where(eq(tasks.status, 'PENDING')),
        db
          .select({ at: min(tasks.nextAttemptAt) })
          .from(tasks)
          .where(eq(tasks.status, 'RETRYING')),
      ]);
      const pending = p?.at ?? null;
      const retrying = r?.at ?? null;
      if (!pending || !retrying) return pending ?? retrying;
      return pending <= retrying ? pending : retrying;
    },
    async listOverdueTasks(now, graceMs, limit) {
      const cutoff = new Date(now.getTime() - graceMs);
      // started_at >= cutoff can never be overdue (timeouts are >= 0): a range on (status, started_at).
      return selectTasks()
        .where(
          and(
            eq(tasks.status, 'RUNNING'),
            lt(tasks.startedAt, cutoff),
            sql`${tasks.startedAt} + INTERVAL (${tasks.timeoutMs} * 1000) MICROSECOND < ${sql.param(cutoff, tasks.startedAt)}`,
          ),
        )
        .orderBy(asc(tasks.startedAt))
        .limit(limit);
    },
    async listLostDispatches({ queue, partition, belowOffset, queuedBefore, limit }) {
      return selectTasks()
        .where(
          and(
            eq(tasks.status, 'QUEUED'),
            lt(tasks.queuedAt, queuedBefore),
            eq(tasks.queue, queue),
            eq(tasks.dispatchPartition, partition),
            lt(tasks.dispatchOffset, belowOffset),
          ),
        )
        .orderBy(asc(tasks.queuedAt))
        .limit(limit);
    },
    async recordDispatchOffsets(rows) {
      if (rows.length === 0) return;
      // One UPDATE … JOIN per run of rows instead of a round trip per task: the relay calls this
      // for every batch it publishes.
      const record = (target: MysqlDb, part: typeof rows) => {
        const values = sql.join(
          part.map((r) => sql`SELECT ${r.taskId} AS id, ${r.partition} AS p, ${r.offset} AS o`),
          sql` UNION ALL `,
        );
        return target.execute(
          sql`UPDATE \`tasks\` JOIN (${values}) AS v ON \`tasks\`.\`id\` = v.id SET \`tasks\`.\`dispatch_partition\` = v.p, \`tasks\`.\`dispatch_offset\` = v.o WHERE \`tasks\`.\`status\` = 'QUEUED'`,
        );
      };
      const parts = chunk([...rows], 1_000);
      if (parts.length === 1) await record(db, parts[0]!);
      else
        await atomic(async (tx) => {
          for (const part of parts) await record(tx.db, part);
        });
    },
    async hasActiveTask(templateId) {
      const rows = await db
        .select({ id: tasks.id })
        .from(tasks)
        .where(and(eq(tasks.templateId, templateId), inArray(tasks.status, [...ACTIVE])))
        .limit(1);
      return rows.length > 0;
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

    // outbox
    insertOutbox(rows) {
      return insertAll(outboxInsert, rows, (r) => 200 + r.payload.length);
    },
    listUnsentOutbox(limit) {
      return db.select().from(outbox).where(isNull(outbox.sentAt)).orderBy(asc(outbox.id)).limit(limit);
    },
    async markOutboxSent(ids, at) {
      if (ids.length === 0) return;
      const parts = chunk(ids, IN_LIST);
      const mark = (target: MysqlDb, part: number[]) =>
        target.update(outbox).set({ sentAt: at }).where(inArray(outbox.id, part));
      if (parts.length === 1) await mark(db, parts[0]!);
      else
        await atomic(async (tx) => {
          for (const part of parts) await mark(tx.db, part);
        });
    },
    async pruneOutbox(before) {
      return affected(await db.delete(outbox).where(lt(outbox.sentAt, before)));
    },

    // workers
    upsertWorkers(rows) {
      return insertAll(workerUpsert, rows);
    },
    listWorkers() {
      return db.select().from(workers).orderBy(asc(workers.id));
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
          .where(and(eq(leases.name, name), or(eq(leases.owner, owner), lt(leases.expiresAt, now)))),
      );
      if (renewed > 0) return true;
      try {
        await db.insert(leases).values({ name, owner, expiresAt });
        return true;
      } catch (err) {
        // Not INSERT IGNORE: that would also swallow a too-long owner, truncating it silently.
        if (translateMysqlError(err) instanceof UniqueViolation) return false;
        throw err;
      }
    },
    async releaseLease(name, owner) {
      await db.delete(leases).where(and(eq(leases.name, name), eq(leases.owner, owner)));
    },
  };
}
