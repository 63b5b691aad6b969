// The SQL of admission's hot reads on SQLite, in one place for ops.ts and the query-plan test.
import { BOUND_LIMIT } from './prepared.js';

/**
 * listWaitingKeys as a skip-scan of tasks_admission_idx (queue, status, key, priority, id): one
 * seek per (key, priority) group instead of reading every waiting entry (SQLite has no loose
 * index scan of its own), so a pass costs the same with 10 or 100,000 tasks behind each key.
 * Keyed groups step by row value (NULL keys do not compare), unkeyed ones by priority. `@queue`.
 */
export const WAITING_GROUPS_SQL = `WITH RECURSIVE keyed(k, p, id) AS (
       SELECT * FROM (SELECT "concurrency_key", "priority", "id" FROM "tasks"
         WHERE "queue" = @queue AND "status" = 'WAITING' AND "concurrency_key" IS NOT NULL
         ORDER BY "concurrency_key", "priority", "id" LIMIT 1)
       UNION ALL
       SELECT t."concurrency_key", t."priority", t."id" FROM keyed JOIN "tasks" t ON t."id" = (
         SELECT "id" FROM "tasks" WHERE "queue" = @queue AND "status" = 'WAITING'
           AND ("concurrency_key", "priority") > (keyed.k, keyed.p)
         ORDER BY "concurrency_key", "priority", "id" LIMIT 1)
     ), unkeyed(p, id) AS (
       SELECT * FROM (SELECT "priority", "id" FROM "tasks"
         WHERE "queue" = @queue AND "status" = 'WAITING' AND "concurrency_key" IS NULL
         ORDER BY "priority", "id" LIMIT 1)
       UNION ALL
       SELECT t."priority", t."id" FROM unkeyed JOIN "tasks" t ON t."id" = (
         SELECT "id" FROM "tasks" WHERE "queue" = @queue AND "status" = 'WAITING'
           AND "concurrency_key" IS NULL AND "priority" > unkeyed.p
         ORDER BY "priority", "id" LIMIT 1)
     )
     SELECT k, p, id FROM keyed UNION ALL SELECT NULL, p, id FROM unkeyed`;

/**
 * The heads of `size` keys at one priority: a UNION ALL of bounded ranges of tasks_admission_idx,
 * three columns each (whole rows inside the compound cost several times more). Parameters per
 * branch: queue, key (null: unkeyed), priority, [left-out template ids as a JSON array,] limit.
 */
export function waitingHeadsSql(size: number, except: boolean): string {
  const branch =
    `SELECT * FROM (SELECT "id", "concurrency_key", "template_id" FROM "tasks" WHERE "queue" = ? AND "status" = 'WAITING'` +
    ` AND "concurrency_key" IS ? AND "priority" = ?` +
    (except ? ` AND "template_id" NOT IN (SELECT "value" FROM json_each(?))` : '') +
    ` ORDER BY "id" ${BOUND_LIMIT})`;
  return Array.from({ length: size }, () => branch).join(' UNION ALL ');
}

/** countQueueTasks for admission: one queue's QUEUED and RUNNING tasks per key. */
export const IN_FLIGHT_SQL =
  `SELECT "queue", "status", "concurrency_key", count(*) FROM "tasks" WHERE "queue" = ? AND "status" IN ('QUEUED', 'RUNNING')` +
  ` GROUP BY "queue", "status", "concurrency_key"`;

/**
 * keyAdmission: per key of the JSON array `@keys`, its in-flight count and the top priority of its
 * waiting tasks — two bounded ranges of tasks_admission_idx per key (the max is one seek). `@queue`.
 */
export const KEY_ADMISSION_SQL = `SELECT k."value",
       (SELECT count(*) FROM "tasks" WHERE "queue" = @queue AND "status" IN ('QUEUED', 'RUNNING')
          AND "concurrency_key" = k."value"),
       (SELECT max("priority") FROM "tasks" WHERE "queue" = @queue AND "status" = 'WAITING'
          AND "concurrency_key" = k."value")
     FROM json_each(@keys) k`;
