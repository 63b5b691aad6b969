// SQLite-only store behaviour: one connection shared by async callers (the mutex), `file:` and
// `:memory:` DSNs, the seeded planner statistics. MySQL runs real concurrent transactions on
// separate connections and has no partial indexes, so none of this applies there.
import Database from 'better-sqlite3';
import { createTestSqliteFile } from '@taskwire/testkit';
import type { TestSqliteFile } from '@taskwire/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTask } from './contract/fixtures.js';
import { createStore } from './index.js';
import { createSqliteStore } from './sqlite/index.js';
import {
  IN_FLIGHT_SQL,
  KEY_ADMISSION_SQL,
  WAITING_GROUPS_SQL,
  waitingHeadsSql,
} from './sqlite/admission-sql.js';
import type { Store } from './types.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));
function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
async function until(condition: () => boolean) {
  while (!condition()) await tick();
}

/** A migrated store on a fresh SQLite file for every test of the enclosing describe. */
function freshStoreEachTest(): { file: TestSqliteFile; store: Store } {
  const s = {} as { file: TestSqliteFile; store: Store };
  beforeEach(async () => {
    s.file = createTestSqliteFile();
    s.store = createSqliteStore({ file: s.file.file });
    await s.store.migrate();
  });
  afterEach(async () => {
    await s.store.close();
    s.file.cleanup();
  });
  return s;
}

describe('sqlite store on one connection', () => {
  const s = freshStoreEachTest();

  it('units of work never interleave: the second starts after the first commits', async () => {
    const log: string[] = [];
    const gate = deferred();
    const t = makeTask();
    const first = s.store.unitOfWork(async (tx) => {
      log.push('first:start');
      await tx.insertTasks([t]);
      await gate.promise;
      log.push('first:end');
    });
    const second = s.store.unitOfWork(async (tx) => {
      log.push('second:start');
      expect(await tx.getTask(t.id)).toEqual(t);
      log.push('second:end');
    });
    await until(() => log.length > 0);
    for (let i = 0; i < 5; i++) await tick();
    expect(log).toEqual(['first:start']);
    gate.resolve();
    await Promise.all([first, second]);
    expect(log).toEqual(['first:start', 'first:end', 'second:start', 'second:end']);
  });

  it('an operation outside a unit of work waits for it and never sees its uncommitted rows', async () => {
    const gate = deferred();
    const t = makeTask();
    let inserted = false;
    const unit = s.store.unitOfWork(async (tx) => {
      await tx.insertTasks([t]);
      inserted = true;
      await gate.promise;
      throw new Error('changed my mind');
    });
    await until(() => inserted);
    let settled = false;
    const read = s.store.getTask(t.id).finally(() => (settled = true));
    for (let i = 0; i < 5; i++) await tick();
    expect(settled).toBe(false);
    gate.resolve();
    await expect(unit).rejects.toThrow('changed my mind');
    expect(await read).toBeNull();
  });

  it('another connection to the same file (another process) sees committed writes', async () => {
    const other = createSqliteStore({ file: s.file.file });
    try {
      const t = makeTask();
      await s.store.insertTasks([t]);
      expect(await other.getTask(t.id)).toEqual(t);
    } finally {
      await other.close();
    }
  });

  it('the due and overdue sweeps read the partial indexes, not every row of a status', () => {
    const db = new Database(s.file.file, { readonly: true });
    try {
      const plan = (q: string) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${q}`).all(0, 10) as Array<{ detail: string }>)
          .map((r) => r.detail)
          .join();
      expect(
        plan(
          `SELECT * FROM tasks WHERE "tasks"."status" = 'PENDING' AND "tasks"."run_at" <= ? ORDER BY run_at LIMIT ?`,
        ),
      ).toContain('tasks_pending_run_at_idx');
      expect(
        plan(
          `SELECT * FROM tasks WHERE "tasks"."status" = 'QUEUED' AND "tasks"."queued_at" < ? ORDER BY queued_at LIMIT ?`,
        ),
      ).toContain('tasks_queued_at_idx');
    } finally {
      db.close();
    }
  });
});

describe('batched task updates on SQLite', () => {
  const s = freshStoreEachTest();

  /** The UPDATEs of tasks the store runs while `fn` runs, with their parameters. */
  async function updates(fn: () => Promise<unknown>): Promise<Array<{ sql: string; params: unknown[] }>> {
    type Stmt = { source: string; run: (...p: unknown[]) => unknown; all: (...p: unknown[]) => unknown };
    const probe = new Database(':memory:');
    const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Stmt;
    probe.close();
    const seen: Array<{ sql: string; params: unknown[] }> = [];
    const originals = { run: proto.run, all: proto.all };
    for (const name of ['run', 'all'] as const) {
      const original = originals[name];
      proto[name] = function (this: Stmt, ...params: unknown[]) {
        if (/^UPDATE "tasks"/.test(this.source)) seen.push({ sql: this.source, params: params.flat() });
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

  it('a batch of dispatch offsets or compare-and-sets is one statement per run, each row found by primary key', async () => {
    const rows = Array.from({ length: 300 }, () => makeTask({ status: 'QUEUED' }));
    await s.store.insertTasks(rows);
    const done = new Date();
    const seen = [
      ...(await updates(() =>
        s.store.recordDispatchOffsets(rows.map((t, i) => ({ taskId: t.id, partition: 0, offset: i }))),
      )),
      ...(await updates(() =>
        s.store.updateTasks(
          rows.map((t) => ({
            id: t.id,
            patch: { status: 'COMPLETED', finishedAt: done, updatedAt: done, result: { ok: 1 } },
            guard: { status: ['QUEUED', 'RUNNING'], attempt: 1 },
          })),
        ),
      )),
    ];
    // 300 = 256 + 32 + 8 + 4 rows: four statements each.
    expect(seen).toHaveLength(8);
    const db = new Database(s.file.file, { readonly: true });
    try {
      for (const { sql, params } of seen) {
        const detail = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as Array<{ detail: string }>).map(
          (r) => r.detail,
        );
        const onTasks = detail.filter((d) => /\b(SCAN|SEARCH) tasks\b/.test(d));
        // One seek per VALUES row (on the primary key, or (status, id) under a status guard).
        expect(onTasks, `${sql}\n${detail.join('\n')}`).toHaveLength(1);
        expect(onTasks[0]).toMatch(/^SEARCH tasks USING (COVERING )?INDEX \w+ \((status=\? AND )?id=\?\)$/);
      }
    } finally {
      db.close();
    }
  });
});

describe('admission reads on SQLite', () => {
  let file: TestSqliteFile;
  beforeEach(async () => {
    file = createTestSqliteFile();
    const store = createSqliteStore({ file: file.file });
    await store.migrate();
    await store.close();
  });
  afterEach(() => file.cleanup());

  it('every admission read is bounded ranges of tasks_admission_idx, never a scan of tasks', () => {
    const db = new Database(file.file, { readonly: true });
    try {
      const plan = (q: string) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${q}`).all(...args(q)) as Array<{ detail: string }>).map(
          (r) => r.detail,
        );
      const args = (q: string): unknown[] =>
        q.includes('@keys')
          ? [{ queue: 'q', keys: '["a"]' }]
          : q.includes('@queue')
            ? [{ queue: 'q' }]
            : Array.from(q.matchAll(/\?/g), () => null);
      for (const q of [
        WAITING_GROUPS_SQL,
        waitingHeadsSql(4, false),
        waitingHeadsSql(2, true),
        IN_FLIGHT_SQL,
        KEY_ADMISSION_SQL,
      ]) {
        const lines = plan(q);
        const onTasks = lines.filter((l) => /\b(SCAN|SEARCH) (tasks|t)\b/.test(l));
        expect(onTasks.length, q).toBeGreaterThan(0);
        for (const l of onTasks)
          expect(l, q).toMatch(
            /^SEARCH (tasks|t) USING (COVERING )?INDEX (tasks_admission_idx|sqlite_autoindex_tasks_1)/,
          );
      }
      // The skip-scan seeks the next group by row value rather than walking the range.
      expect(plan(WAITING_GROUPS_SQL).join()).toContain('CORRELATED SCALAR SUBQUERY');
    } finally {
      db.close();
    }
  });
});

describe('sqlite DSNs', () => {
  it('createStore takes a file: DSN and the data outlives the store', async () => {
    const file = createTestSqliteFile();
    try {
      const t = makeTask();
      const first = createStore({ dbType: 'sqlite', dsn: `file:${file.file}` });
      await first.migrate();
      await first.insertTasks([t]);
      await first.close();
      const again = createStore({ dbType: 'sqlite', dsn: file.file });
      await again.ping();
      expect(await again.getTask(t.id)).toEqual(t);
      await again.close();
    } finally {
      file.cleanup();
    }
  });

  it('an in-memory store works for tests', async () => {
    const store = createStore({ dbType: 'sqlite', dsn: ':memory:' });
    await store.migrate();
    const t = makeTask();
    await store.unitOfWork((tx) => tx.insertTasks([t]));
    expect(await store.getTask(t.id)).toEqual(t);
    await store.close();
  });
});
