// MySQL-only store behaviour: how times look to other clients of the server, the migration lock
// between replicas starting together, deadlocks between concurrent units of work, and connection failures. SQLite has no server, no session
// time zone and no concurrent migrators, so none of this applies there.
import { createTestMysqlDatabase } from '@taskwire/testkit';
import type { TestMysqlDatabase } from '@taskwire/testkit';
import { createConnection } from 'mysql2/promise';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { T0, makeTask } from './contract/fixtures.js';
import { createMysqlStore } from './mysql/index.js';
import { StoreUnavailable } from './types.js';
import type { Store, TaskRecord } from './types.js';

/**
 * Two units of work that update tasks `a` and `b` in opposite orders, each waiting until the other
 * holds its first row lock: InnoDB must pick a deadlock victim (errno 1213). Returns how often each ran.
 */
async function provokeDeadlock(store: Store, a: string, b: string) {
  const runs = { first: 0, second: 0 };
  let firstLocked!: () => void;
  let secondLocked!: () => void;
  const firstHolds = new Promise<void>((r) => (firstLocked = r));
  const secondHolds = new Promise<void>((r) => (secondLocked = r));
  // Each unit locks its first row, waits until the other holds its own, then asks for that one.
  const unit = (
    name: 'first' | 'second',
    [x, y]: [string, string],
    locked: () => void,
    other: Promise<void>,
  ) =>
    store.unitOfWork(async (tx) => {
      runs[name]++;
      await tx.updateTask(x, { name });
      locked();
      await other;
      await tx.updateTask(y, { name });
    });
  const first = unit('first', [a, b], firstLocked, secondHolds);
  const second = unit('second', [b, a], secondLocked, firstHolds);
  const settled = await Promise.allSettled([first, second]);
  return { runs, settled };
}

/** A fresh database for each test of the enclosing describe block (read it inside the test). */
function useFreshDatabase(): { readonly dsn: string } {
  let db: TestMysqlDatabase | undefined;
  beforeEach(async () => {
    db = await createTestMysqlDatabase();
  });
  afterEach(async () => {
    await db?.drop();
    db = undefined;
  });
  return {
    get dsn() {
      if (!db) throw new Error('database used outside a test');
      return db.dsn;
    },
  };
}

describe('mysql store', () => {
  const db = useFreshDatabase();

  it('times are stored as UTC wall-clock DATETIME(3), whatever the reader’s time zone', async () => {
    const store = createMysqlStore({ dsn: db.dsn });
    try {
      await store.migrate();
      const t = makeTask({ createdAt: T0 });
      await store.insertTasks([t]);
      const conn = await createConnection({ uri: db.dsn, timezone: '+05:00' });
      try {
        await conn.query("SET time_zone = '+05:00'");
        const [rows] = await conn.query('SELECT CAST(created_at AS CHAR) AS v FROM tasks WHERE id = ?', [
          t.id,
        ]);
        expect((rows as Array<{ v: string }>)[0]?.v).toBe('2030-01-02 03:04:05.678');
      } finally {
        await conn.end();
      }
      expect((await store.getTask(t.id))?.createdAt).toEqual(T0);
    } finally {
      await store.close();
    }
  });

  it('replicas migrating the same database at once both succeed', async () => {
    const a = createMysqlStore({ dsn: db.dsn, poolSize: 2 });
    const b = createMysqlStore({ dsn: db.dsn, poolSize: 2 });
    try {
      await Promise.all([a.migrate(), b.migrate()]);
      await Promise.all([a.ping(), b.ping()]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('mysql deadlocks and lock-wait timeouts', () => {
  const db = useFreshDatabase();

  it('a deadlocked unit of work is rolled back and run again, so both units commit', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const store = createMysqlStore({ dsn: db.dsn, poolSize: 4, logger });
    try {
      await store.migrate();
      const [a, b] = [makeTask(), makeTask()];
      await store.insertTasks([a, b]);
      const { runs, settled } = await provokeDeadlock(store, a.id, b.id);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled']);
      // The victim ran twice and, committing last, wrote both rows.
      expect(runs.first + runs.second).toBe(3);
      const victim = runs.first === 2 ? 'first' : 'second';
      expect((await store.getTask(a.id))?.name).toBe(victim);
      expect((await store.getTask(b.id))?.name).toBe(victim);
      const retries = lines.map((l) => JSON.parse(l) as { msg: string; reason?: string });
      expect(retries).toContainEqual(
        expect.objectContaining({ msg: 'mysql conflict; retrying', reason: 'deadlock' }),
      );
    } finally {
      await store.close();
    }
  });

  it('with retries exhausted the deadlock surfaces as StoreUnavailable(deadlock), the other unit commits', async () => {
    const store = createMysqlStore({ dsn: db.dsn, poolSize: 4, conflictRetries: 0 });
    try {
      await store.migrate();
      const [a, b] = [makeTask(), makeTask()];
      await store.insertTasks([a, b]);
      const { runs, settled } = await provokeDeadlock(store, a.id, b.id);
      expect(runs).toEqual({ first: 1, second: 1 });
      const failed = settled.filter((s) => s.status === 'rejected');
      expect(failed).toHaveLength(1);
      const reason = (failed[0] as PromiseRejectedResult).reason as unknown;
      expect(reason).toBeInstanceOf(StoreUnavailable);
      expect(reason).toMatchObject({ reason: 'deadlock', retryAfterS: 1 });
    } finally {
      await store.close();
    }
  });

  it('an update that times out waiting for a row lock (1205) is run again and succeeds once the lock is gone', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const store = createMysqlStore({ dsn: db.dsn, poolSize: 2, logger, lockWaitTimeoutS: 1 });
    const holder = await createConnection({ uri: db.dsn });
    try {
      await store.migrate();
      const t = makeTask();
      await store.insertTasks([t]);
      await holder.query('START TRANSACTION');
      await holder.query('SELECT id FROM tasks WHERE id = ? FOR UPDATE', [t.id]);
      const update = store.updateTask(t.id, { name: 'after the lock' });
      // Release the row once the first attempt has timed out and the retry is waiting.
      for (let i = 0; i < 200 && !lines.some((l) => l.includes('"reason":"lock_timeout"')); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(lines.some((l) => l.includes('"reason":"lock_timeout"'))).toBe(true);
      await holder.query('COMMIT');
      await expect(update).resolves.toBe(true);
      expect((await store.getTask(t.id))?.name).toBe('after the lock');
    } finally {
      await holder.end();
      await store.close();
    }
  });

  it('a pool of one connection migrates and serves (the migration runs on the connection holding its lock)', async () => {
    const store = createMysqlStore({ dsn: db.dsn, poolSize: 1 });
    try {
      await store.migrate();
      await store.ping();
    } finally {
      await store.close();
    }
  });
});

describe('mysql batch task updates (updateTasks) between connections', () => {
  const db = useFreshDatabase();
  const done = { status: 'COMPLETED' as const, finishedAt: T0, updatedAt: T0 };
  const guardOf = (t: Pick<TaskRecord, 'status' | 'attempt'>) => ({
    status: [t.status],
    attempt: t.attempt,
  });

  it('a row changed by another transaction after the read is not overwritten', async () => {
    const [a, b] = [createMysqlStore({ dsn: db.dsn }), createMysqlStore({ dsn: db.dsn })];
    try {
      await a.migrate();
      const [moved, kept] = [makeTask({ status: 'RUNNING' }), makeTask({ status: 'RUNNING' })];
      await a.insertTasks([moved, kept]);
      const changed = await a.unitOfWork(async (tx) => {
        const seen = await tx.getTasks([moved.id, kept.id]);
        // Another replica cancels one task and commits between this unit's read and its write.
        expect(await b.updateTask(moved.id, { status: 'CANCELED' }, { status: ['RUNNING'] })).toBe(true);
        return tx.updateTasks(seen.map((t) => ({ id: t.id, patch: done, guard: guardOf(t) })));
      });
      expect(changed).toEqual(new Set([kept.id]));
      expect(await a.getTask(moved.id)).toMatchObject({ status: 'CANCELED', finishedAt: null });
      expect(await a.getTask(kept.id)).toEqual({ ...kept, ...done });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a batch waits for a row another transaction holds and judges its guard on the row as committed', async () => {
    const store = createMysqlStore({ dsn: db.dsn, poolSize: 2 });
    const holder = await createConnection({ uri: db.dsn });
    try {
      await store.migrate();
      const [moved, kept] = [makeTask({ status: 'RUNNING' }), makeTask({ status: 'RUNNING' })];
      await store.insertTasks([moved, kept]);
      await holder.query('START TRANSACTION');
      await holder.query("UPDATE tasks SET status = 'CANCELED' WHERE id = ?", [moved.id]);
      // Guards from before the cancel: a plain (non-locking) read would still see RUNNING here.
      const batch = store.updateTasks(
        [moved, kept].map((t) => ({ id: t.id, patch: done, guard: guardOf(t) })),
      );
      // Commit once the batch is blocked on the held row (its statement still running).
      let waiting = 0;
      for (let i = 0; i < 400 && waiting === 0; i++) {
        const [rows] = await holder.query(
          "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE db = DATABASE() AND id <> CONNECTION_ID() AND command = 'Query'",
        );
        waiting = Number((rows as Array<{ n: number }>)[0]?.n);
        if (waiting === 0) await new Promise((r) => setTimeout(r, 25));
      }
      expect(waiting).toBe(1);
      await holder.query('COMMIT');
      await expect(batch).resolves.toEqual(new Set([kept.id]));
      expect(await store.getTask(moved.id)).toMatchObject({ status: 'CANCELED', finishedAt: null });
      expect(await store.getTask(kept.id)).toEqual({ ...kept, ...done });
    } finally {
      await holder.end();
      await store.close();
    }
  });
});

describe('mysql store without a server', () => {
  it('ping names the server it cannot reach', async () => {
    const store = createMysqlStore({ dsn: 'mysql://root:secret@127.0.0.1:1/nowhere' });
    try {
      await expect(store.ping()).rejects.toThrow(
        /mysql:\/\/root:\*\*\*@127\.0\.0\.1:1\/nowhere is unreachable/,
      );
    } finally {
      await store.close();
    }
  });
});
