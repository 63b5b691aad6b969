// Admission on real stores (SQLite and MariaDB): priorities, WAITING, max_in_flight, pause, paused templates, per-key limits and round-robin, two replicas under chaos.
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { ResultMessage } from '@taskwire/contracts';
import { systemClock } from './clock.js';
import type { DomainDeps, Signals } from './deps.js';
import { noSignals } from './deps.js';
import { admitQueue } from './admission.js';
import { applyResults } from './results.js';
import { cancelTask } from './cancel.js';
import { createTasks } from './tasks.js';
import type { TaskInput } from './tasks.js';
import { createTemplate, updateTemplate } from './templates.js';
import { listQueues, pauseQueue, resumeQueue, setQueueLimit } from './queues.js';
import type { Store, TaskRecord } from '../store/types.js';
import { createAdmissionLoop } from '../scheduler/admission-loop.js';
import { createDueLoop } from '../scheduler/due-loop.js';
import { DIALECTS, createTestDatabase } from '../testing/stores.js';
import type { Dialect } from '../testing/stores.js';

const logger = pino({ level: 'silent' });
const settings = { dispatchTopic: 'dispatch', controlTopic: 'control' };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function openDb(dialect: Dialect): Promise<() => Promise<Store>> {
  const db = await createTestDatabase(dialect);
  cleanups.push(() => db.cleanup());
  return async () => {
    const store = db.open();
    await store.migrate();
    return store;
  };
}

function depsOf(store: Store, signals: Signals = noSignals): DomainDeps {
  return { store, clock: systemClock, logger, settings, signals };
}

async function create(deps: DomainDeps, inputs: TaskInput[]): Promise<TaskRecord[]> {
  const out = await createTasks(deps, inputs);
  return out.map((r) => {
    if (!r.ok) throw r.error;
    return r.value.task;
  });
}

const msg = (t: TaskRecord, type: ResultMessage['type'], over: Partial<ResultMessage> = {}): ResultMessage =>
  ({
    v: 1,
    type,
    task_id: t.id,
    attempt: t.attempt,
    worker_id: 'w1',
    at: Date.now(),
    ...over,
  }) as ResultMessage;

async function inStatus(store: Store, status: TaskRecord['status']): Promise<TaskRecord[]> {
  return store.listTasks({ status: [status], limit: 10_000 });
}

/** Runs the oldest QUEUED task of `queue` to success, as one worker of concurrency 1 would. */
async function runOldestQueued(deps: DomainDeps): Promise<TaskRecord | null> {
  const queued = (await inStatus(deps.store, 'QUEUED')).sort(
    (a, b) => a.queuedAt!.getTime() - b.queuedAt!.getTime() || (a.id < b.id ? -1 : 1),
  );
  const t = queued[0];
  if (!t) return null;
  await applyResults(deps, [msg(t, 'started'), msg(t, 'succeeded', { result: null })]);
  return t;
}

describe.each(DIALECTS)('admission on %s', (dialect) => {
  it('a queue nobody configured dispatches at once (QUEUED, no waiting)', async () => {
    const deps = depsOf(await (await openDb(dialect))());
    const t = await createTemplate(deps, { name: 'plain', executor: 'noop' });
    const [task] = await create(deps, [{ templateId: t.id }]);
    expect(task!.status).toBe('QUEUED');
    expect(task!.priority).toBe(5);
    expect((await deps.store.listEvents(task!.id)).map((e) => e.type)).toEqual(['created', 'queued']);
  });

  const eventTypes = async (deps: DomainDeps, t: TaskRecord) =>
    (await deps.store.listEvents(t.id)).map((e) => e.type);

  it('a task created into a queue with a free slot is QUEUED at once, with no WAITING event', async () => {
    const deps = depsOf(await (await openDb(dialect))());
    const t = await createTemplate(deps, { name: 'roomy', executor: 'noop', queue: 'qf' });
    await setQueueLimit(deps, 'qf', 2);
    const [task] = await create(deps, [{ templateId: t.id }]);
    expect(task!.status).toBe('QUEUED');
    expect(await eventTypes(deps, task!)).toEqual(['created', 'queued']);
    expect((await deps.store.getTask(task!.id))!.status).toBe('QUEUED');
    // Its dispatch is in the outbox with it (one transaction), for the relay to publish.
    expect((await deps.store.listUnsentOutbox(10)).map((o) => o.key)).toEqual([task!.id]);
  });

  it('a batch into a queue with free slots queues as many as fit at once, oldest first; the rest wait', async () => {
    const deps = depsOf(await (await openDb(dialect))());
    const t = await createTemplate(deps, { name: 'fill', executor: 'noop', queue: 'qb' });
    await setQueueLimit(deps, 'qb', 3);
    const [first] = await create(deps, [{ templateId: t.id }]);
    const batch = await create(
      deps,
      Array.from({ length: 5 }, () => ({ templateId: t.id })),
    );
    expect([first!, ...batch].map((x) => x.status)).toEqual([
      'QUEUED',
      'QUEUED',
      'QUEUED',
      'WAITING',
      'WAITING',
      'WAITING',
    ]);
    expect(await eventTypes(deps, batch[2]!)).toEqual(['created', 'waiting']);
    const [view] = (await listQueues(deps, null)).filter((q) => q.name === 'qb');
    expect(view).toMatchObject({ waiting: 3, queued: 3 });
  });

  it('a task created while older tasks of its queue wait goes WAITING behind them, even with a slot free', async () => {
    const deps = depsOf(await (await openDb(dialect))());
    const t = await createTemplate(deps, { name: 'behind', executor: 'noop', queue: 'qw' });
    await setQueueLimit(deps, 'qw', 1);
    const [a, b] = await create(deps, [{ templateId: t.id }, { templateId: t.id }]);
    expect([a!.status, b!.status]).toEqual(['QUEUED', 'WAITING']);
    // a is cancelled: a slot is free, but no admission pass has run yet (a cancel signals the
    // admission loop, and there is none here; a result would refill the slot itself).
    await cancelTask(deps, a!.id);
    const [c] = await create(deps, [{ templateId: t.id }]);
    expect(c!.status).toBe('WAITING');
    expect(await eventTypes(deps, c!)).toEqual(['created', 'waiting']);
    expect(await admitQueue(deps, 'qw')).toBe(1);
    expect((await deps.store.getTask(b!.id))!.status).toBe('QUEUED');
    expect((await deps.store.getTask(c!.id))!.status).toBe('WAITING');
    // Only lower priorities wait: a higher-priority task takes the free slot at once, as a pass would give it.
    await cancelTask(deps, b!.id);
    const [urgent] = await create(deps, [{ templateId: t.id, priority: 9 }]);
    expect(urgent!.status).toBe('QUEUED');
    expect(await eventTypes(deps, urgent!)).toEqual(['created', 'queued']);
    expect((await deps.store.getTask(c!.id))!.status).toBe('WAITING');
  });

  it('a task whose concurrency key has a free slot is QUEUED at once, with no WAITING event; the key past its limit waits', async () => {
    const deps = depsOf(await (await openDb(dialect))());
    const t = await createTemplate(deps, {
      name: 'keyfree',
      executor: 'noop',
      queue: 'qk',
      concurrencyKey: '/c',
      concurrencyLimit: 2,
    });
    const tasks = await create(
      deps,
      ['a', 'b', 'a', 'a', 'b'].map((c) => ({ templateId: t.id, params: { c } })),
    );
    expect(tasks.map((x) => x.status)).toEqual(['QUEUED', 'QUEUED', 'QUEUED', 'WAITING', 'QUEUED']);
    expect(await eventTypes(deps, tasks[0]!)).toEqual(['created', 'queued']);
    const waitingEvent = (await deps.store.listEvents(tasks[3]!.id)).find((e) => e.type === 'waiting');
    expect(waitingEvent!.data).toMatchObject({ reason: 'concurrency_key' });
    const [c] = await create(deps, [{ templateId: t.id, params: { c: 'c' } }]);
    expect(c!.status).toBe('QUEUED');
  });

  it('a task created while older tasks of its concurrency key wait goes WAITING behind them; another key is QUEUED at once', async () => {
    const deps = depsOf(await (await openDb(dialect))());
    const t = await createTemplate(deps, {
      name: 'keybehind',
      executor: 'noop',
      queue: 'qkw',
      concurrencyKey: '/c',
      concurrencyLimit: 1,
    });
    const [a1, a2] = await create(deps, [
      { templateId: t.id, params: { c: 'a' } },
      { templateId: t.id, params: { c: 'a' } },
    ]);
    expect([a1!.status, a2!.status]).toEqual(['QUEUED', 'WAITING']);
    await cancelTask(deps, a1!.id); // a's slot frees; no pass has run yet (no admission loop here)
    const [a3] = await create(deps, [{ templateId: t.id, params: { c: 'a' } }]);
    const [b1] = await create(deps, [{ templateId: t.id, params: { c: 'b' } }]);
    expect([a3!.status, b1!.status]).toEqual(['WAITING', 'QUEUED']);
    expect(await eventTypes(deps, a3!)).toEqual(['created', 'waiting']);
    expect(await admitQueue(deps, 'qkw')).toBe(1);
    expect((await deps.store.getTask(a2!.id))!.status).toBe('QUEUED');
    expect((await deps.store.getTask(a3!.id))!.status).toBe('WAITING');
  });

  it("a result that frees a key's slot queues that key's next waiting task in the same unit of work; other keys' tasks wait", async () => {
    const admitted: Array<[string, readonly string[] | undefined]> = [];
    let outboxWritten = 0;
    const deps = depsOf(await (await openDb(dialect))(), {
      ...noSignals,
      outboxWritten: () => void outboxWritten++,
      admit: (q, keys) => void admitted.push([q, keys]),
    });
    const t = await createTemplate(deps, {
      name: 'freed',
      executor: 'noop',
      queue: 'qt',
      concurrencyKey: '/c',
      concurrencyLimit: 1,
    });
    const [a1, a2, b1, b2] = await create(
      deps,
      ['a', 'a', 'b', 'b'].map((c) => ({ templateId: t.id, params: { c } })),
    );
    expect([a1, a2, b1, b2].map((x) => x!.status)).toEqual(['QUEUED', 'WAITING', 'QUEUED', 'WAITING']);
    admitted.length = 0; // createTasks signalled the whole queue for its waiting tasks
    outboxWritten = 0;
    await applyResults(deps, [msg(a1!, 'started'), msg(a1!, 'succeeded', { result: null })]);
    const [ended, next] = [(await deps.store.getTask(a1!.id))!, (await deps.store.getTask(a2!.id))!];
    expect(next.status).toBe('QUEUED');
    // One unit of work: the slot changed hands at one instant, with the dispatch written beside it.
    expect(next.queuedAt!.getTime()).toBe(ended.finishedAt!.getTime());
    expect(await eventTypes(deps, next)).toEqual(['created', 'waiting', 'queued']);
    const dispatched = await deps.store.listUnsentOutbox(100);
    expect(dispatched.filter((r) => r.key === a2!.id)).toHaveLength(1);
    expect(outboxWritten).toBe(1);
    // Key b's slot did not free: its task still waits. Nothing was left for the admission loop.
    expect((await deps.store.getTask(b2!.id))!.status).toBe('WAITING');
    expect(admitted).toEqual([]);
    expect(await admitQueue(deps, 'qt')).toBe(0);
  });

  it('a result that frees slots of a key waiting at two levels queues the higher one at once and leaves the lower one to a whole pass', async () => {
    const admitted: Array<[string, readonly string[] | undefined]> = [];
    const deps = depsOf(await (await openDb(dialect))(), {
      ...noSignals,
      admit: (q, keys) => void admitted.push([q, keys]),
    });
    // Key c, limit 2: one task waits at priority 9, one at 1; both slots free up in one batch.
    const u = await createTemplate(deps, {
      name: 'freed-levels',
      executor: 'noop',
      queue: 'qt2',
      concurrencyKey: '/c',
      concurrencyLimit: 2,
    });
    const [c1, c2, low, high] = await create(deps, [
      { templateId: u.id, params: { c: 'c' }, priority: 1 },
      { templateId: u.id, params: { c: 'c' }, priority: 1 },
      { templateId: u.id, params: { c: 'c' }, priority: 1 },
      { templateId: u.id, params: { c: 'c' }, priority: 9 },
    ]);
    expect([low!.status, high!.status]).toEqual(['WAITING', 'WAITING']);
    admitted.length = 0;
    await applyResults(
      deps,
      [c1!, c2!].flatMap((c) => [msg(c, 'started'), msg(c, 'succeeded', { result: null })]),
    );
    expect((await deps.store.getTask(high!.id))!.status).toBe('QUEUED');
    // The pass read the key's top level only: the loop is asked for a whole pass of the queue.
    expect(admitted).toEqual([['qt2', undefined]]);
    expect(await admitQueue(deps, 'qt2')).toBe(1);
    expect((await deps.store.getTask(low!.id))!.status).toBe('QUEUED');
  });

  it('in a queue without max_in_flight, a pass for the keys whose slots freed admits only their tasks', async () => {
    const deps = depsOf(await (await openDb(dialect))());
    const t = await createTemplate(deps, {
      name: 'only',
      executor: 'noop',
      queue: 'qo',
      concurrencyKey: '/c',
      concurrencyLimit: 1,
    });
    const [a1, a2, b1, b2] = await create(
      deps,
      ['a', 'a', 'b', 'b'].map((c) => ({ templateId: t.id, params: { c } })),
    );
    // Cancels free the slots without refilling them (the admission loop would).
    await cancelTask(deps, a1!.id);
    await cancelTask(deps, b1!.id);
    expect(await admitQueue(deps, 'qo', 20, ['a'])).toBe(1);
    expect((await deps.store.getTask(a2!.id))!.status).toBe('QUEUED');
    expect((await deps.store.getTask(b2!.id))!.status).toBe('WAITING');
    expect(await admitQueue(deps, 'qo', 20, ['b'])).toBe(1);
    expect((await deps.store.getTask(b2!.id))!.status).toBe('QUEUED');
  });

  it('a limit or a pause set after earlier tasks were queued holds the next task', async () => {
    const deps = depsOf(await (await openDb(dialect))());
    const t = await createTemplate(deps, { name: 'late', executor: 'noop', queue: 'ql' });
    const [a] = await create(deps, [{ templateId: t.id }]);
    expect(a!.status).toBe('QUEUED');
    await setQueueLimit(deps, 'ql', 1);
    const [b] = await create(deps, [{ templateId: t.id }]);
    expect(b!.status).toBe('WAITING');
    await pauseQueue(deps, 'ql');
    await setQueueLimit(deps, 'ql', null);
    const [c] = await create(deps, [{ templateId: t.id }]);
    expect(c!.status).toBe('WAITING');
  });

  it('a full queue holds tasks WAITING and admits the highest priority, then the oldest', async () => {
    const deps = depsOf(await (await openDb(dialect))());
    const t = await createTemplate(deps, { name: 'prio', executor: 'noop', queue: 'q1' });
    await setQueueLimit(deps, 'q1', 2);
    // Created while paused, so that all of them go through the admission pass.
    await pauseQueue(deps, 'q1');
    const low = await create(
      deps,
      [1, 2, 3].map(() => ({ templateId: t.id, priority: 1 })),
    );
    const [high] = await create(deps, [{ templateId: t.id, priority: 9 }]);
    expect(new Set([...low, high!].map((x) => x.status))).toEqual(new Set(['WAITING']));
    await resumeQueue(deps, 'q1');
    expect(await admitQueue(deps, 'q1')).toBe(2);
    const queued = (await inStatus(deps.store, 'QUEUED')).map((x) => x.id).sort();
    expect(queued).toEqual([high!.id, low[0]!.id].sort());
    // The limit holds: nothing more until a slot frees.
    expect(await admitQueue(deps, 'q1')).toBe(0);
    // A slot frees: the result hands it to the next in line (priority, then oldest) itself.
    await runOldestQueued(deps);
    expect((await deps.store.getTask(low[1]!.id))!.status).toBe('QUEUED');
    expect(await admitQueue(deps, 'q1')).toBe(0);
    const [view] = (await listQueues(deps, null)).filter((q) => q.name === 'q1');
    expect(view).toMatchObject({ waiting: 1, queued: 2, running: 0, maxInFlight: 2, paused: false });
  });

  it('with max_in_flight 2 and 200 priority-1 tasks waiting, a priority-9 task runs before at least 195 of them', async () => {
    const deps = depsOf(await (await openDb(dialect))());
    const t = await createTemplate(deps, { name: 'backlog', executor: 'noop', queue: 'q2' });
    await setQueueLimit(deps, 'q2', 2);
    await create(
      deps,
      Array.from({ length: 200 }, () => ({ templateId: t.id, priority: 1 })),
    );
    await admitQueue(deps, 'q2');
    // One worker of concurrency 1 has started one of them when the urgent task arrives.
    const [urgent] = await create(deps, [{ templateId: t.id, priority: 9 }]);
    const order: string[] = [];
    for (;;) {
      await admitQueue(deps, 'q2');
      const ran = await runOldestQueued(deps);
      if (!ran) break;
      order.push(ran.id);
    }
    expect(order).toHaveLength(201);
    expect(order.indexOf(urgent!.id)).toBeLessThanOrEqual(5);
  });

  it('a paused queue admits nothing and its new tasks wait; resume admits them', async () => {
    const deps = depsOf(await (await openDb(dialect))());
    const t = await createTemplate(deps, { name: 'pausable', executor: 'noop', queue: 'q3' });
    await pauseQueue(deps, 'q3');
    const tasks = await create(deps, [{ templateId: t.id }, { templateId: t.id }]);
    expect(tasks.map((x) => x.status)).toEqual(['WAITING', 'WAITING']);
    const [waitingEvent] = (await deps.store.listEvents(tasks[0]!.id)).filter((e) => e.type === 'waiting');
    expect(waitingEvent!.data).toMatchObject({ reason: 'queue_paused' });
    expect(await admitQueue(deps, 'q3')).toBe(0);
    // A second store on the same database sees the pause (persisted, every replica).
    const view = await resumeQueue(deps, 'q3');
    expect(view.paused).toBe(false);
    expect(await admitQueue(deps, 'q3')).toBe(2);
  });

  it("a paused template's tasks wait while other templates of the queue run; unpausing admits them", async () => {
    const deps = depsOf(await (await openDb(dialect))());
    const paused = await createTemplate(deps, { name: 'held', executor: 'noop', queue: 'q4', paused: true });
    const other = await createTemplate(deps, { name: 'free', executor: 'noop', queue: 'q4' });
    const [held] = await create(deps, [{ templateId: paused.id, priority: 9 }]);
    const [free] = await create(deps, [{ templateId: other.id }]);
    expect(held!.status).toBe('WAITING');
    expect(free!.status).toBe('QUEUED');
    expect(await admitQueue(deps, 'q4')).toBe(0);
    await updateTemplate(deps, paused.id, { paused: false });
    expect(await admitQueue(deps, 'q4')).toBe(1);
    expect((await deps.store.getTask(held!.id))!.status).toBe('QUEUED');
  });

  it('per-key limit: never more than concurrency_limit of one key in flight; a key with a backlog does not delay another key', async () => {
    const deps = depsOf(await (await openDb(dialect))());
    const t = await createTemplate(deps, {
      name: 'keyed',
      executor: 'noop',
      queue: 'q5',
      concurrencyKey: '/customer',
      concurrencyLimit: 2,
    });
    await pauseQueue(deps, 'q5'); // all of them through the admission pass
    const big = await create(
      deps,
      Array.from({ length: 300 }, () => ({ templateId: t.id, params: { customer: 'big' } })),
    );
    const [small] = await create(deps, [{ templateId: t.id, params: { customer: 'small' } }]);
    const [explicit] = await create(deps, [
      { templateId: t.id, params: { customer: 'big' }, concurrencyKey: 'x' },
    ]);
    expect(big[0]!.concurrencyKey).toBe('big');
    expect(explicit!.concurrencyKey).toBe('x');
    await resumeQueue(deps, 'q5');
    expect(await admitQueue(deps, 'q5')).toBe(4);
    const queued = await inStatus(deps.store, 'QUEUED');
    const perKey = (key: string) => queued.filter((x) => x.concurrencyKey === key).length;
    expect([perKey('big'), perKey('small'), perKey('x')]).toEqual([2, 1, 1]);
    expect(queued.map((x) => x.id)).toContain(small!.id);
    // Round-robin when the queue limit binds: after `big` took a slot, `small2` gets the next one.
    await setQueueLimit(deps, 'q5', 4);
    const [small2] = await create(deps, [{ templateId: t.id, params: { customer: 'small' } }]);
    await runOldestQueued(deps); // a `big` one (the oldest) ends
    await admitQueue(deps, 'q5');
    const now = await inStatus(deps.store, 'QUEUED');
    expect(now.filter((x) => x.concurrencyKey === 'big')).toHaveLength(2);
    expect(now.length).toBeLessThanOrEqual(4);
    await runOldestQueued(deps);
    await runOldestQueued(deps);
    await admitQueue(deps, 'q5');
    expect((await deps.store.getTask(small2!.id))!.status).toBe('QUEUED');
  });

  it("a key held at its template's lower limit does not hold back other keys' lower-priority tasks", async () => {
    const deps = depsOf(await (await openDb(dialect))());
    const strict = await createTemplate(deps, {
      name: 'strict',
      executor: 'noop',
      queue: 'q8',
      priority: 9,
      concurrencyKey: '/c',
      concurrencyLimit: 1,
    });
    const loose = await createTemplate(deps, {
      name: 'loose',
      executor: 'noop',
      queue: 'q8',
      priority: 1,
      concurrencyKey: '/c',
      concurrencyLimit: 3,
    });
    await pauseQueue(deps, 'q8'); // all of them through the admission pass
    const [a1, a2] = await create(deps, [
      { templateId: strict.id, params: { c: 'a' } },
      { templateId: strict.id, params: { c: 'a' } },
    ]);
    const bs = await create(
      deps,
      Array.from({ length: 4 }, () => ({ templateId: loose.id, params: { c: 'b' } })),
    );
    await resumeQueue(deps, 'q8');
    // `a` takes its one slot; the level-9 head left (a2) cannot run, so the slots go to level 1.
    expect(await admitQueue(deps, 'q8')).toBe(4);
    const queued = new Set((await inStatus(deps.store, 'QUEUED')).map((t) => t.id));
    expect([a1, ...bs.slice(0, 3)].every((t) => queued.has(t!.id))).toBe(true);
    expect((await deps.store.getTask(a2!.id))!.status).toBe('WAITING');
    expect((await deps.store.getTask(bs[3]!.id))!.status).toBe('WAITING');
  });

  it('with more keys than slots, one pass gives the oldest keys one task each before any key a second', async () => {
    const deps = depsOf(await (await openDb(dialect))());
    const t = await createTemplate(deps, {
      name: 'many',
      executor: 'noop',
      queue: 'q9',
      concurrencyKey: '/c',
      concurrencyLimit: 2,
    });
    await setQueueLimit(deps, 'q9', 30);
    await pauseQueue(deps, 'q9'); // all of them through the admission pass
    const tasks = await create(
      deps,
      Array.from({ length: 200 }, (_, i) => ({ templateId: t.id, params: { c: `k${i % 50}` } })),
    );
    await resumeQueue(deps, 'q9');
    expect(await admitQueue(deps, 'q9', 1)).toBe(30);
    const queued = (await inStatus(deps.store, 'QUEUED')).map((x) => x.id).sort();
    // The 30 oldest keys each get their oldest task: round-robin before any key's second task.
    expect(queued).toEqual(
      tasks
        .slice(0, 30)
        .map((x) => x.id)
        .sort(),
    );
  });

  it('a retry leaves and re-takes its slot; cancelling a waiting or queued task frees it', async () => {
    const deps = depsOf(await (await openDb(dialect))());
    const t = await createTemplate(deps, {
      name: 'retrying',
      executor: 'noop',
      queue: 'q6',
      backoff: { initialMs: 0, factor: 1, maxMs: 0, jitter: 0 },
    });
    await setQueueLimit(deps, 'q6', 1);
    const [a, b, c] = await create(deps, [{ templateId: t.id }, { templateId: t.id }, { templateId: t.id }]);
    await admitQueue(deps, 'q6');
    expect((await deps.store.getTask(a!.id))!.status).toBe('QUEUED');
    await applyResults(deps, [
      msg(a!, 'started'),
      msg(a!, 'failed', { error: { message: 'boom', retryable: true } }),
    ]);
    expect((await deps.store.getTask(a!.id))!.status).toBe('RETRYING');
    // The freed slot goes to the next waiting task; the retry waits for a slot (attempt 2, WAITING).
    await admitQueue(deps, 'q6');
    expect((await deps.store.getTask(b!.id))!.status).toBe('QUEUED');
    const due = createDueLoop({ ...deps, maxSleepMs: 50 });
    due.start();
    cleanups.push(() => due.stop());
    await expect.poll(async () => (await deps.store.getTask(a!.id))!.status).toBe('WAITING');
    expect((await deps.store.getTask(a!.id))!.attempt).toBe(2);
    await cancelTask(deps, c!.id);
    await cancelTask(deps, b!.id);
    await admitQueue(deps, 'q6');
    const retried = (await deps.store.getTask(a!.id))!;
    expect([retried.status, retried.attempt]).toEqual(['QUEUED', 2]);
  });

  it('rejects a concurrency_key that is not a JSON Pointer, naming the field', async () => {
    const deps = depsOf(await (await openDb(dialect))());
    await expect(
      createTemplate(deps, { name: 'bad', executor: 'noop', concurrencyKey: 'customer_id' }),
    ).rejects.toMatchObject({ code: 'bad_request', message: expect.stringContaining('concurrency_key') });
  });
});

describe.each(DIALECTS)('two manager replicas on %s', (dialect) => {
  it('tasks created at once on two replicas are queued at creation no further than max_in_flight and each key’s limit', async () => {
    const open = await openDb(dialect);
    const first = await open();
    const [a, b] = [depsOf(first), depsOf(dialect === 'sqlite' ? first : await open())];
    const t = await createTemplate(a, {
      name: 'race',
      executor: 'noop',
      queue: 'qr',
      concurrencyKey: '/k',
      concurrencyLimit: 2,
    });
    const u = await createTemplate(a, { name: 'race-unkeyed', executor: 'noop', queue: 'qr' });
    await setQueueLimit(a, 'qr', 5);
    // 48 single creates in flight at once, half on each replica: no admission pass runs (no signals).
    const created = await Promise.all(
      Array.from({ length: 48 }, (_, i) =>
        create(i % 2 === 0 ? a : b, [
          i % 4 === 3 ? { templateId: u.id } : { templateId: t.id, params: { k: `k${i % 3}` } },
        ]),
      ),
    );
    // How many are queued at creation depends on the order the creates take the lock: once one
    // waits (its key is full), later ones wait behind it for the admission pass. Never more than 5.
    const queued = created.flat().filter((x) => x.status === 'QUEUED');
    expect(queued.length).toBeGreaterThan(0);
    expect(queued.length).toBeLessThanOrEqual(5);
    const counts = await a.store.countQueueTasks('qr', ['QUEUED', 'RUNNING']);
    expect(counts.reduce((n, c) => n + c.n, 0)).toBe(queued.length);
    for (const c of counts) if (c.concurrencyKey !== null) expect(c.n).toBeLessThanOrEqual(2);
    // Keyed only, in a queue without max_in_flight: the key's limit holds across replicas too.
    const k = await createTemplate(a, {
      name: 'race-keys',
      executor: 'noop',
      queue: 'qr2',
      concurrencyKey: '/k',
      concurrencyLimit: 3,
    });
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        create(i % 2 === 0 ? a : b, [{ templateId: k.id, params: { k: 'one' } }]),
      ),
    );
    const keyed = await a.store.countQueueTasks('qr2');
    expect(keyed.map((c) => [c.status, c.n]).sort()).toEqual([
      ['QUEUED', 3],
      ['WAITING', 27],
    ]);
  });

  it('under random cancels, retries and failures the queue and key limits are never exceeded and no slot leaks', async () => {
    const open = await openDb(dialect);
    // SQLite serves one manager (one writer): its two "replicas" share the store. MariaDB: two pools.
    const first = await open();
    const stores = [first, dialect === 'sqlite' ? first : await open()];
    const loops: Array<{ stop(): Promise<void> }> = [];
    const replicas = stores.map((store) => {
      const signals: Signals = { ...noSignals, admit: (q) => admission.wake(q) };
      const deps = depsOf(store, signals);
      const admission = createAdmissionLoop({ ...deps, sweepMs: 50 });
      const due = createDueLoop({ ...deps, maxSleepMs: 50 });
      admission.start();
      due.start();
      loops.push(admission, due);
      return deps;
    });
    cleanups.push(async () => {
      for (const l of loops) await l.stop();
    });
    const [a, b] = replicas as [DomainDeps, DomainDeps];
    const t = await createTemplate(a, {
      name: 'chaos',
      executor: 'noop',
      queue: 'qc',
      concurrencyKey: '/k',
      concurrencyLimit: 2,
      maxAttempts: 3,
      backoff: { initialMs: 0, factor: 1, maxMs: 0, jitter: 0 },
    });
    await setQueueLimit(a, 'qc', 5);
    // 3 keys × limit 2 > max_in_flight 5: both limits bind during the run.
    const KEYS = 3;
    const N = 120;
    for (let i = 0; i < N; i += 20) {
      const d = i % 40 === 0 ? a : b;
      await create(
        d,
        Array.from({ length: 20 }, (_, j) => ({ templateId: t.id, params: { k: `k${(i + j) % KEYS}` } })),
      );
    }
    let maxQueue = 0;
    let maxKey = 0;
    const check = async () => {
      const counts = await a.store.countQueueTasks('qc', ['QUEUED', 'RUNNING']);
      const perKey = new Map<string, number>();
      for (const c of counts)
        perKey.set(c.concurrencyKey ?? '', (perKey.get(c.concurrencyKey ?? '') ?? 0) + c.n);
      maxQueue = Math.max(
        maxQueue,
        counts.reduce((s, c) => s + c.n, 0),
      );
      maxKey = Math.max(maxKey, ...perKey.values(), 0);
    };
    let rnd = 42;
    const random = () => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const deadline = Date.now() + 60_000;
    for (;;) {
      await check();
      const active = await a.store.listTasks({
        status: ['WAITING', 'QUEUED', 'RUNNING', 'RETRYING'],
        limit: 1000,
      });
      if (active.length === 0) break;
      if (Date.now() > deadline) throw new Error(`chaos run did not finish: ${active.length} tasks active`);
      const d = random() < 0.5 ? a : b;
      const running = active.filter((x) => x.status === 'QUEUED' || x.status === 'RUNNING');
      const pick = running[Math.floor(random() * running.length)];
      const roll = random();
      if (roll < 0.08) {
        const any = active[Math.floor(random() * active.length)]!;
        await cancelTask(d, any.id).catch(() => {});
        if (any.status === 'RUNNING') await applyResults(d, [msg(any, 'canceled')]);
      } else if (pick && pick.status === 'QUEUED') {
        await applyResults(d, [msg(pick, 'started')]);
      } else if (pick) {
        const outcome = roll < 0.3 ? 'failed' : roll < 0.38 ? 'timed_out' : 'succeeded';
        const error = { message: 'chaos', retryable: true };
        await applyResults(d, [msg(pick, outcome, outcome === 'succeeded' ? { result: 1 } : { error })]);
      } else {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    await check();
    // The limits were reached (the run tested them) and never passed.
    expect(maxQueue).toBe(5);
    expect(maxKey).toBe(2);
    // Everything ended, nothing stuck WAITING or holding a slot.
    expect(await a.store.countQueueTasks('qc')).toEqual([]);
    const finished = await a.store.listTasks({ limit: 1000 });
    expect(finished).toHaveLength(N);
  }, 90_000);
});
