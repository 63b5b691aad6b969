// A unit of work may run twice: the MySQL adapter re-runs one that lost a deadlock. Writes that read
// their rows before the transaction must come out the same on the second run.
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteDeps } from '../testing/sqlite-deps.js';
import type { SqliteDeps } from '../testing/sqlite-deps.js';
import type { Store } from '../store/types.js';
import { createDueLoop } from '../scheduler/due-loop.js';
import { createTasks, updateTask } from './tasks.js';
import { createTemplate } from './templates.js';

class Rollback extends Error {}

/**
 * Makes every unit of work on `store` run its function once in a transaction that is rolled back
 * (as InnoDB rolls back a deadlock loser), then again for real — what withConflictRetry does.
 */
function rerunEveryUnitOfWork(store: Store): void {
  const unitOfWork = store.unitOfWork.bind(store);
  store.unitOfWork = async (fn) => {
    await unitOfWork(async (tx) => {
      await fn(tx);
      throw new Rollback();
    }).catch((err: unknown) => {
      if (!(err instanceof Rollback)) throw err;
    });
    return unitOfWork(fn);
  };
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a unit of work that runs a second time', () => {
  let db: SqliteDeps;
  afterEach(() => db.close());

  it('PUT status QUEUED on a PENDING task still queues it once, with one queued event and one dispatch', async () => {
    db = await openSqliteDeps();
    const t = await createTemplate(db.deps, { name: 'later', executor: 'echo' });
    const [r] = await createTasks(db.deps, [{ templateId: t.id, runAt: new Date(Date.now() + 3_600_000) }]);
    const id = (r as { ok: true; value: { task: { id: string } } }).value.task.id;
    rerunEveryUnitOfWork(db.store);

    const task = await updateTask(db.deps, id, { status: 'QUEUED' });

    expect(task).toMatchObject({ status: 'QUEUED', attempt: 1 });
    const events = (await db.store.listEvents(id)).map((e) => e.type);
    expect(events).toEqual(['created', 'queued', 'updated']);
    expect((await db.store.listUnsentOutbox(100)).filter((o) => o.key === id)).toHaveLength(1);
  });

  it('the due loop queues a due RETRYING task as its next attempt, once', async () => {
    db = await openSqliteDeps();
    const t = await createTemplate(db.deps, { name: 'again', executor: 'echo' });
    const [r] = await createTasks(db.deps, [{ templateId: t.id }]);
    const id = (r as { ok: true; value: { task: { id: string } } }).value.task.id;
    await db.store.updateTask(id, { status: 'RETRYING', nextAttemptAt: new Date(Date.now() - 1000) }, {});
    rerunEveryUnitOfWork(db.store);

    const loop = createDueLoop({ ...db.deps, maxSleepMs: 50 });
    loop.start();
    try {
      const task = await until(
        () => db.store.getTask(id),
        (v) => v?.status === 'QUEUED',
        'the task to be QUEUED',
      );
      expect(task?.attempt).toBe(2);
    } finally {
      await loop.stop();
    }
    const queued = (await db.store.listEvents(id)).filter((e) => e.type === 'queued');
    expect(queued.map((e) => e.attempt)).toEqual([1, 2]);
    expect((await db.store.listUnsentOutbox(100)).filter((o) => o.key === id)).toHaveLength(2);
  });
});
