// The dashboard's reads use an index at any table size (SQLite): every SELECT of tasks that
// listTasks (each filter alone and combined, deep cursor pages) and taskStats issue, captured as
// the store runs it, is EXPLAINed with its own parameters; none may scan the table or sort it.
// The timings at 100,000 tasks are in bench/dashboard.mjs, not here.
import Database from 'better-sqlite3';
import { createTestSqliteFile } from '@taskwire/testkit';
import type { TestSqliteFile } from '@taskwire/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, makeTask } from './contract/fixtures.js';
import { idBoundsOfCreated } from '../domain/ids.js';
import { createSqliteStore } from './sqlite/index.js';
import type { Store, TaskFilter, TaskRecord } from './types.js';

let file: TestSqliteFile;
let store: Store;
let tasks: TaskRecord[];

beforeAll(async () => {
  file = createTestSqliteFile();
  store = createSqliteStore({ file: file.file });
  await store.migrate();
  const statuses = ['COMPLETED', 'COMPLETED', 'COMPLETED', 'FAILED', 'QUEUED', 'RUNNING'] as const;
  tasks = Array.from({ length: 600 }, (_, i) =>
    makeTask({
      queue: ['default', 'images', 'emails'][i % 3]!,
      templateId: String.fromCharCode(65 + (i % 5)).repeat(26),
      status: statuses[i % statuses.length]!,
      createdAt: at(i * 1000),
      finishedAt: i % 6 < 4 ? at(i * 1000 + 500) : null,
    }),
  );
  await store.insertTasks(tasks);
  // Measured statistics, as a manager has after its first PRAGMA optimize: the planner's choices
  // with them are the ones that matter (without any it favours the newer indexes).
  const db = new Database(file.file);
  db.exec('ANALYZE');
  db.close();
});
afterAll(async () => {
  await store.close();
  file.cleanup();
});

type Stmt = { source: string; all: (...p: unknown[]) => unknown; get: (...p: unknown[]) => unknown };

/** The SELECTs of `tasks` the store prepares and runs while `fn` runs, with their parameters. */
async function captured(fn: () => Promise<unknown>): Promise<Array<{ sql: string; params: unknown[] }>> {
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Stmt;
  probe.close();
  const seen: Array<{ sql: string; params: unknown[] }> = [];
  const originals = { all: proto.all, get: proto.get };
  for (const name of ['all', 'get'] as const) {
    const original = originals[name];
    proto[name] = function (this: Stmt, ...params: unknown[]) {
      if (/^\s*select/i.test(this.source) && /\bfrom "tasks"/i.test(this.source))
        seen.push({ sql: this.source, params });
      return original.apply(this, params);
    };
  }
  try {
    await fn();
  } finally {
    Object.assign(proto, originals);
  }
  return seen;
}

function plan(sql: string, params: unknown[]): string[] {
  const db = new Database(file.file, { readonly: true });
  try {
    const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>;
    return rows.map((r) => r.detail);
  } finally {
    db.close();
  }
}

/** A full scan of the table, or a sort of every matching row before the LIMIT. */
const BAD = /^SCAN tasks$|^SCAN tasks (?!USING)|USE TEMP B-TREE FOR ORDER BY/;

describe('the dashboard queries on SQLite', () => {
  const middle = () => tasks[300]!.id;
  const filters: Array<[string, () => TaskFilter]> = [
    ['no filter (first page)', () => ({ limit: 51 })],
    ['a deep cursor page', () => ({ beforeId: middle(), limit: 51 })],
    ['status', () => ({ status: ['FAILED'], limit: 51 })],
    ['template', () => ({ templateId: 'B'.repeat(26), limit: 51 })],
    ['queue', () => ({ queue: 'images', limit: 51 })],
    ['queue, deep cursor', () => ({ queue: 'images', beforeId: middle(), limit: 51 })],
    ['queue and status', () => ({ queue: 'images', status: ['FAILED'], limit: 51 })],
    ['template and status', () => ({ templateId: 'B'.repeat(26), status: ['COMPLETED'], limit: 51 })],
    ['status and created range', () => ({ status: ['FAILED'], createdFrom: at(100_000), limit: 51 })],
    [
      "a created range with the domain's id bounds (GET /tasks?created_from&created_to)",
      () => {
        const bounds = idBoundsOfCreated(at(100_000), at(200_000));
        return {
          createdFrom: at(100_000),
          createdTo: at(200_000),
          fromId: bounds.from,
          beforeId: bounds.before,
          limit: 51,
        };
      },
    ],
  ];

  it.each(filters)('listTasks with %s reads an index, never the whole table or a sort', async (_name, f) => {
    const queries = await captured(() => store.listTasks(f()));
    expect(queries).toHaveLength(1);
    const { sql, params } = queries[0]!;
    const detail = plan(sql, params);
    expect(
      detail.filter((d) => BAD.test(d)),
      `${sql}\n${detail.join('\n')}`,
    ).toEqual([]);
    expect(detail.some((d) => /USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY|SEARCH/.test(d))).toBe(true);
  });

  it('a created range is read as the id range the domain derives from it: no index on created_at', async () => {
    // Ids carry their creation time (domain/ids.ts), so GET /tasks?created_from&created_to reads a
    // range of the primary key in id order; an index on created_at would only cost every insert.
    const bounds = idBoundsOfCreated(at(100_000), at(200_000));
    const queries = await captured(() =>
      store.listTasks({
        createdFrom: at(100_000),
        createdTo: at(200_000),
        fromId: bounds.from,
        beforeId: bounds.before,
        limit: 51,
      }),
    );
    expect(plan(queries[0]!.sql, queries[0]!.params)).toEqual([
      'SEARCH tasks USING INDEX sqlite_autoindex_tasks_1 (id>? AND id<?)',
    ]);
    const db = new Database(file.file, { readonly: true });
    try {
      const onCreated = db
        .prepare(
          "SELECT name FROM pragma_index_list('tasks') AS l WHERE EXISTS (SELECT 1 FROM pragma_index_info(l.name) WHERE name = 'created_at')",
        )
        .all();
      expect(onCreated).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('listTasks with several statuses runs one ordered index read per status and merges them', async () => {
    const queries = await captured(() =>
      store.listTasks({ status: ['QUEUED', 'RUNNING', 'FAILED'], limit: 51 }),
    );
    expect(queries).toHaveLength(3);
    for (const q of queries) {
      const detail = plan(q.sql, q.params);
      expect(detail).toEqual(['SEARCH tasks USING INDEX tasks_status_id_idx (status=?)']);
    }
    const merged = await store.listTasks({ status: ['QUEUED', 'RUNNING', 'FAILED'], limit: 51 });
    const expected = tasks
      .filter((t) => ['QUEUED', 'RUNNING', 'FAILED'].includes(t.status))
      .map((t) => t.id)
      .sort()
      .reverse()
      .slice(0, 51);
    expect(merged.map((t) => t.id)).toEqual(expected);
  });

  it('taskStats reads two indexes only (counts from the admission index, the last hour from a range of the finished one)', async () => {
    const queries = await captured(() => store.taskStats(at(300_000)));
    expect(queries).toHaveLength(2);
    const details = queries.map((q) => plan(q.sql, q.params));
    // (queue, status) is the prefix of tasks_admission_idx: no index of its own.
    expect(details[0]!.join('\n')).toMatch(/SCAN tasks USING COVERING INDEX tasks_admission_idx/);
    expect(details[1]!.join('\n')).toMatch(
      /SEARCH tasks USING COVERING INDEX tasks_finished_status_idx \(finished_at>\?\)/,
    );
    for (const d of details) expect(d.filter((x) => BAD.test(x))).toEqual([]);
  });

  it('the retention purge reads the finished range of tasks_finished_status_idx, however it is scoped', async () => {
    const scopes = [
      { finishedBefore: at(300_000), limit: 100 },
      { finishedBefore: at(300_000), exceptTemplateIds: ['B'.repeat(26)], limit: 100 },
    ];
    for (const scope of scopes) {
      const queries = await captured(() => store.purgeFinishedTasks(scope));
      const detail = plan(queries[0]!.sql, queries[0]!.params);
      expect(detail[0], detail.join('\n')).toMatch(
        /^SEARCH tasks USING INDEX tasks_finished_status_idx \(finished_at<\?\)/,
      );
    }
    // One template's own retention: its tasks by template, or the finished range, never a scan.
    const queries = await captured(() =>
      store.purgeFinishedTasks({ finishedBefore: at(300_000), templateId: 'B'.repeat(26), limit: 100 }),
    );
    const detail = plan(queries[0]!.sql, queries[0]!.params);
    expect(detail.filter((d) => BAD.test(d))).toEqual([]);
    expect(detail[0]).toMatch(/^SEARCH tasks USING (COVERING )?INDEX/);
  });

  it('idempotency-key lookups and the last cron fire read the partial unique indexes', async () => {
    const byKey = await captured(() => store.getTasksByIdempotencyKeys(['k1', 'k2']));
    expect(plan(byKey[0]!.sql, byKey[0]!.params)).toEqual([
      'SEARCH tasks USING INDEX tasks_idempotency_key_uq (idempotency_key=?)',
    ]);
    const last = await captured(() => store.lastScheduledFor('B'.repeat(26)));
    expect(plan(last[0]!.sql, last[0]!.params).join('\n')).toMatch(
      /SEARCH tasks USING COVERING INDEX tasks_schedule_uq \(template_id=\?/,
    );
  });

  it('the probe sees a table scan when there is one (so the checks above can fail)', () => {
    const detail = plan('SELECT * FROM tasks WHERE name = ? ORDER BY name', ['x']);
    expect(detail.filter((d) => BAD.test(d)).length).toBeGreaterThan(0);
  });
});
