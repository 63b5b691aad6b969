// The dashboard's reads use an index on MySQL/MariaDB too: every SELECT of tasks that listTasks and
// taskStats issue, captured from the store's pool as it runs them, is EXPLAINed with its own
// parameters on 5,000 tasks after ANALYZE TABLE; none may read the whole table or filesort it.
// (Own file: the capture patches the mysql2 pool class, and SQLite has its own planner test.)
import { createTestMysqlDatabase } from '@taskwire/testkit';
import type { TestMysqlDatabase } from '@taskwire/testkit';
import { createConnection, createPool } from 'mysql2/promise';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, makeTask } from './contract/fixtures.js';
import { createMysqlStore } from './mysql/index.js';
import type { Store, TaskFilter, TaskRecord } from './types.js';

let db: TestMysqlDatabase;
let store: Store;
let conn: Connection;
let tasks: TaskRecord[];

beforeAll(async () => {
  db = await createTestMysqlDatabase();
  store = createMysqlStore({ dsn: db.dsn });
  await store.migrate();
  const statuses = [
    'COMPLETED',
    'COMPLETED',
    'COMPLETED',
    'COMPLETED',
    'FAILED',
    'QUEUED',
    'RUNNING',
  ] as const;
  tasks = Array.from({ length: 5000 }, (_, i) =>
    makeTask({
      queue: ['default', 'images', 'emails', 'reports'][i % 4]!,
      templateId: String.fromCharCode(65 + (i % 20)).repeat(26),
      status: statuses[i % statuses.length]!,
      createdAt: at(i * 1000),
      finishedAt: i % 7 < 5 ? at(i * 1000 + 500) : null,
    }),
  );
  for (let i = 0; i < tasks.length; i += 1000) await store.insertTasks(tasks.slice(i, i + 1000));
  conn = await createConnection({ uri: db.dsn });
  await conn.query('ANALYZE TABLE tasks');
}, 120_000);
afterAll(async () => {
  await conn?.end();
  await store?.close();
  await db?.drop();
});

type Query = (this: unknown, q: unknown, params?: unknown) => Promise<unknown>;

/**
 * The SELECTs of `tasks` the store runs while `fn` runs, with their parameters: on the pool, and on
 * a connection taken from it (a transaction's).
 */
async function captured(fn: () => Promise<unknown>): Promise<Array<{ sql: string; params: unknown[] }>> {
  const probe = createPool({ uri: db.dsn });
  const connection = await probe.getConnection();
  const protos = [
    Object.getPrototypeOf(probe) as { query: Query },
    Object.getPrototypeOf(Object.getPrototypeOf(connection)) as { query: Query },
  ];
  connection.release();
  await probe.end();
  const originals = protos.map((p) => p.query);
  const seen: Array<{ sql: string; params: unknown[] }> = [];
  protos.forEach((proto, i) => {
    const original = originals[i]!;
    proto.query = function (q, params) {
      const sql = typeof q === 'string' ? q : (q as { sql: string }).sql;
      if (/^\s*select/i.test(sql) && /\bfrom `tasks`/i.test(sql))
        seen.push({ sql, params: (params as unknown[]) ?? [] });
      return original.call(this, q, params);
    };
  });
  try {
    await fn();
  } finally {
    protos.forEach((proto, i) => (proto.query = originals[i]!));
  }
  return seen;
}

interface PlanRow {
  table: string;
  type: string;
  key: string | null;
  Extra: string | null;
}
async function plan(sql: string, params: unknown[]): Promise<PlanRow[]> {
  const [rows] = await conn.query(`EXPLAIN ${sql}`, params);
  return rows as PlanRow[];
}
const bad = (rows: PlanRow[]) =>
  rows.filter(
    (r) => r.table === 'tasks' && (r.key === null || r.type === 'ALL' || /filesort/i.test(r.Extra ?? '')),
  );

describe('the dashboard queries on MariaDB', () => {
  const middle = () => tasks[2500]!.id;
  const filters: Array<[string, () => TaskFilter]> = [
    ['no filter (first page)', () => ({ limit: 51 })],
    ['a deep cursor page', () => ({ beforeId: middle(), limit: 51 })],
    ['status', () => ({ status: ['FAILED'], limit: 51 })],
    ['several statuses', () => ({ status: ['QUEUED', 'RUNNING', 'FAILED'], limit: 51 })],
    ['template', () => ({ templateId: 'B'.repeat(26), limit: 51 })],
    ['queue', () => ({ queue: 'images', limit: 51 })],
    ['queue, deep cursor', () => ({ queue: 'images', beforeId: middle(), limit: 51 })],
  ];

  it.each(filters)(
    'listTasks with %s reads an index in order, never the whole table or a filesort',
    async (_n, f) => {
      const queries = await captured(() => store.listTasks(f()));
      expect(queries.length).toBeGreaterThan(0);
      for (const q of queries) {
        const rows = await plan(q.sql, q.params);
        expect(bad(rows), `${q.sql}\n${JSON.stringify(rows)}`).toEqual([]);
      }
    },
  );

  it('taskStats counts from an index and reads the last hour as a range', async () => {
    const queries = await captured(() => store.taskStats(at(4_000_000)));
    expect(queries).toHaveLength(2);
    const [counts, minutes] = await Promise.all(queries.map((q) => plan(q.sql, q.params)));
    expect(
      counts!.every((r) => r.type === 'index' && /Using index/.test(r.Extra ?? '')),
      JSON.stringify(counts),
    ).toBe(true);
    expect(
      minutes!.every((r) => r.type === 'range' && r.key !== null),
      JSON.stringify(minutes),
    ).toBe(true);
  });

  it('the retention purge reads a range of tasks_finished_status_idx, never the whole table', async () => {
    for (const scope of [
      { finishedBefore: at(2_000_000), limit: 100 },
      { finishedBefore: at(2_000_000), exceptTemplateIds: ['B'.repeat(26)], limit: 100 },
    ]) {
      const queries = await captured(() => store.purgeFinishedTasks(scope));
      const rows = (await plan(queries[0]!.sql, queries[0]!.params)).filter((r) => r.table === 'tasks');
      expect(rows, JSON.stringify(rows)).toMatchObject([{ type: 'range', key: 'tasks_finished_status_idx' }]);
    }
    const queries = await captured(() =>
      store.purgeFinishedTasks({ finishedBefore: at(2_000_000), templateId: 'B'.repeat(26), limit: 100 }),
    );
    const rows = await plan(queries[0]!.sql, queries[0]!.params);
    expect(bad(rows), JSON.stringify(rows)).toEqual([]);
  });

  it('the probe sees a table scan when there is one (so the checks above can fail)', async () => {
    expect(bad(await plan('SELECT * FROM tasks WHERE name = ? ORDER BY name', ['x'])).length).toBeGreaterThan(
      0,
    );
  });
});
