// Workflows on both dialects, steps run by applying worker results directly (as the result consumer
// does): validation named per step, $ref passing, fail_fast vs continue, cancel, retry, and the
// 1,000-step fan-out 1 → 998 → 1 with the store calls counted to show O(steps).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { DispatchMessage, ResultMessage } from '@taskwire/contracts';
import type { Store, StoreOps, TaskRecord } from '../store/types.js';
import { DIALECTS, createTestDatabase } from '../testing/stores.js';
import type { TestDatabase } from '../testing/stores.js';
import { systemClock } from './clock.js';
import type { DomainDeps } from './deps.js';
import { noSignals } from './deps.js';
import { AppError } from './errors.js';
import { applyResults } from './results.js';
import { createTemplate } from './templates.js';
import { cancelWorkflow, createWorkflow, getWorkflow, retryWorkflow } from './workflows.js';
import type { WorkflowInput, WorkflowView } from './workflows.js';

/** Counts every store call (in and outside units of work) and every unit of work. */
function counting(store: Store): { store: Store; calls: { ops: number; units: number } } {
  const calls = { ops: 0, units: 0 };
  const wrapOps = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop, receiver) {
        const value = Reflect.get(t, prop, receiver) as unknown;
        if (typeof value !== 'function' || prop === 'unitOfWork') return value;
        return (...args: unknown[]) => {
          calls.ops++;
          return (value as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
    });
  const wrapped = wrapOps(store);
  const proxy = new Proxy(wrapped, {
    get(t, prop, receiver) {
      if (prop !== 'unitOfWork') return Reflect.get(t, prop, receiver) as unknown;
      return <R>(fn: (tx: StoreOps) => Promise<R>) => {
        calls.units++;
        return store.unitOfWork((tx) => fn(wrapOps(tx)));
      };
    },
  });
  return { store: proxy, calls };
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe.each(DIALECTS)('workflows on %s', (dialect) => {
  let db: TestDatabase;
  let store: Store;
  let deps: DomainDeps;
  let echo: string;
  let strict: string;
  let flaky: string;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    store = db.open();
    await store.migrate();
    deps = {
      store,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      settings: { dispatchTopic: 'dispatch', controlTopic: 'control' },
      signals: noSignals,
    };
    echo = (await createTemplate(deps, { name: 'wf-echo', executor: 'echo' })).name;
    strict = (
      await createTemplate(deps, {
        name: 'wf-strict',
        executor: 'echo',
        paramSchema: {
          type: 'object',
          required: ['n'],
          properties: { n: { type: 'integer' }, from: { type: 'string' } },
        },
      })
    ).name;
    flaky = (await createTemplate(deps, { name: 'wf-flaky', executor: 'echo', maxAttempts: 1 })).name;
  });
  afterAll(() => db.cleanup());

  const status = async (id: string) => {
    const v = await getWorkflow(deps, id);
    return {
      workflow: v.workflow.status,
      steps: Object.fromEntries(v.steps.map((s) => [s.step.stepKey, s.task.status])),
    };
  };
  const task = async (v: WorkflowView, key: string): Promise<TaskRecord> => {
    const s = v.steps.find((x) => x.step.stepKey === key)!;
    return (await store.getTask(s.task.id))!;
  };
  const dispatchOf = async (taskId: string): Promise<DispatchMessage | undefined> => {
    const rows = (await store.listUnsentOutbox(100_000)).filter(
      (r) => r.key === taskId && r.topic === 'dispatch',
    );
    const last = rows[rows.length - 1];
    return last ? (JSON.parse(last.payload) as DispatchMessage) : undefined;
  };
  const result = (t: TaskRecord, over: Partial<ResultMessage>): ResultMessage => ({
    v: 1,
    type: 'succeeded',
    task_id: t.id,
    attempt: t.attempt,
    worker_id: 'w1',
    at: Date.now(),
    ...over,
  });
  /** A worker's results for steps of `v`: key → what it reports (absent keys are left alone). */
  const report = async (v: WorkflowView, outcomes: Record<string, Partial<ResultMessage>>) => {
    const messages: ResultMessage[] = [];
    for (const [key, over] of Object.entries(outcomes)) messages.push(result(await task(v, key), over));
    await applyResults(deps, messages);
  };
  const input = (over: Partial<WorkflowInput> & Pick<WorkflowInput, 'steps'>): WorkflowInput => ({
    name: 'wf',
    ...over,
  });

  it('rejects a workflow naming each bad step, and creates nothing', async () => {
    const before = (await store.listWorkflows({ limit: 1000 })).length;
    const graph = await rejection(
      createWorkflow(
        deps,
        input({
          steps: [
            { key: 'a', templateName: echo },
            { key: 'a', templateName: echo },
            { key: 'b', templateName: echo, dependsOn: ['nope'] },
            { key: 'c', templateName: echo, params: { x: { $ref: '#/steps/b/result' } } },
          ],
        }),
      ),
    );
    expect(graph.code).toBe('bad_request');
    expect(graph.message).toContain('step key "a" is used by steps 0 and 1');
    expect(graph.message).toContain('step "b" depends on unknown step "nope"');
    const templates = await rejection(
      createWorkflow(deps, input({ steps: [{ key: 'x', templateName: 'no-such-template' }] })),
    );
    expect(templates.message).toContain('step "x": template named "no-such-template" does not exist');
    const params = await rejection(
      createWorkflow(
        deps,
        input({
          steps: [
            { key: 'ok', templateName: strict, params: { n: 1 } },
            { key: 'bad', templateName: strict, params: { n: 'one' } },
          ],
        }),
      ),
    );
    expect(params.code).toBe('validation_failed');
    expect(params.message).toContain('step "bad": /steps/1/params/n must be integer');
    expect(params.details).toEqual([expect.objectContaining({ path: '/steps/1/params/n', step: 'bad' })]);
    expect(await store.listWorkflows({ limit: 1000 })).toHaveLength(before);
  });

  it('rejects a cycle, naming the steps on it, and a $ref to a step that is not an ancestor', async () => {
    const cycle = await rejection(
      createWorkflow(
        deps,
        input({
          steps: [
            { key: 'a', templateName: echo, dependsOn: ['c'] },
            { key: 'b', templateName: echo, dependsOn: ['a'] },
            { key: 'c', templateName: echo, dependsOn: ['b'] },
          ],
        }),
      ),
    );
    expect(cycle.message).toMatch(/steps form a cycle: "a" → "c" → "b" → "a"/);
    const sibling = await rejection(
      createWorkflow(
        deps,
        input({
          steps: [
            { key: 'a', templateName: echo },
            { key: 'b', templateName: echo },
            { key: 'c', templateName: echo, dependsOn: ['a'], params: { v: { $ref: '#/steps/b/result' } } },
          ],
        }),
      ),
    );
    expect(sibling.message).toContain('names step "b", which it does not depend on');
  });

  it('runs a diamond, passing results through $refs and checking the resolved params', async () => {
    const v = await createWorkflow(
      deps,
      input({
        name: 'diamond',
        steps: [
          { key: 'a', templateName: echo, params: { seed: 1 } },
          {
            key: 'b',
            templateName: echo,
            dependsOn: ['a'],
            params: { from: { $ref: '#/steps/a/result/name' } },
          },
          { key: 'c', templateName: echo, dependsOn: ['a'] },
          {
            key: 'd',
            templateName: strict,
            dependsOn: ['b', 'c'],
            params: { n: { $ref: '#/steps/c/result/items/1' }, from: { $ref: '#/steps/b/result/from' } },
          },
        ],
      }),
    );
    expect(await status(v.workflow.id)).toEqual({
      workflow: 'RUNNING',
      steps: { a: 'QUEUED', b: 'PENDING', c: 'PENDING', d: 'PENDING' },
    });
    await report(v, { a: { result: { name: 'ada' } } });
    expect((await status(v.workflow.id)).steps).toEqual({
      a: 'COMPLETED',
      b: 'QUEUED',
      c: 'QUEUED',
      d: 'PENDING',
    });
    expect((await dispatchOf((await task(v, 'b')).id))?.params).toEqual({ from: 'ada' });
    await report(v, { b: { result: { from: 'ada' } } });
    expect((await status(v.workflow.id)).steps.d).toBe('PENDING');
    await report(v, { c: { result: { items: [10, 20] } } });
    const d = await task(v, 'd');
    expect(d.status).toBe('QUEUED');
    expect(d.params).toEqual({ n: 20, from: 'ada' });
    expect((await dispatchOf(d.id))?.params).toEqual({ n: 20, from: 'ada' });
    await report(v, { d: { result: 'done' } });
    const done = await getWorkflow(deps, v.workflow.id);
    expect(done.workflow).toMatchObject({ status: 'COMPLETED', stepsFinished: 4, stepsCompleted: 4 });
    expect(done.workflow.finishedAt).not.toBeNull();
    expect((await store.listEvents(v.workflow.id)).map((e) => e.type)).toEqual([
      'workflow_started',
      'workflow_completed',
    ]);
  });

  it('fails a step whose resolved params break its param_schema, naming the ref and the step', async () => {
    const v = await createWorkflow(
      deps,
      input({
        steps: [
          { key: 'a', templateName: echo },
          { key: 'b', templateName: strict, dependsOn: ['a'], params: { n: { $ref: '#/steps/a/result/n' } } },
          {
            key: 'c',
            templateName: echo,
            dependsOn: ['a'],
            params: { v: { $ref: '#/steps/a/result/missing' } },
          },
        ],
        onFailure: 'continue',
      }),
    );
    await report(v, { a: { result: { n: 'not a number' } } });
    const b = await task(v, 'b');
    expect(b.status).toBe('FAILED');
    expect(b.error?.message).toContain('step "b": params resolved from $refs do not match the param_schema');
    expect(b.error?.message).toContain('/n must be integer');
    const c = await task(v, 'c');
    expect(c.status).toBe('FAILED');
    expect(c.error?.message).toContain(
      '"#/steps/a/result/missing": the result of step "a" has no value at "/missing"',
    );
    expect((await getWorkflow(deps, v.workflow.id)).workflow.status).toBe('FAILED');
  });

  // a → b; c → e, with a failing for good.
  const branches = (onFailure: 'fail_fast' | 'continue') =>
    createWorkflow(
      deps,
      input({
        onFailure,
        steps: [
          { key: 'a', templateName: flaky },
          { key: 'b', templateName: echo, dependsOn: ['a'] },
          { key: 'c', templateName: echo },
          { key: 'e', templateName: echo, dependsOn: ['c'] },
        ],
      }),
    );
  const failure = { type: 'failed', error: { message: 'boom', retryable: false } } as const;

  it('fail_fast: a failed step cancels what cannot run and asks running siblings to stop', async () => {
    const v = await branches('fail_fast');
    await report(v, { c: { type: 'started' } });
    await report(v, { a: failure });
    expect((await status(v.workflow.id)).steps).toEqual({
      a: 'FAILED',
      b: 'CANCELED',
      c: 'RUNNING',
      e: 'CANCELED',
    });
    const b = await task(v, 'b');
    expect(b.error?.message).toContain('it depends on step "a", which ended FAILED');
    const e = await task(v, 'e');
    expect(e.error?.message).toContain('step "a" ended FAILED and the workflow is fail_fast');
    const c = await task(v, 'c');
    expect((await store.listEvents(c.id)).map((x) => x.type)).toContain('cancel_requested');
    const control = (await store.listUnsentOutbox(100_000)).filter(
      (r) => r.topic === 'control' && r.key === c.id,
    );
    expect(control).toHaveLength(1);
    expect((await getWorkflow(deps, v.workflow.id)).workflow.status).toBe('RUNNING');
    await report(v, { c: { type: 'canceled' } });
    expect((await getWorkflow(deps, v.workflow.id)).workflow).toMatchObject({
      status: 'FAILED',
      stepsFinished: 4,
    });
  });

  it('continue: independent branches go on; the workflow ends FAILED; retry re-runs only what did not complete', async () => {
    const v = await branches('continue');
    await report(v, { a: failure });
    expect((await status(v.workflow.id)).steps).toEqual({
      a: 'FAILED',
      b: 'CANCELED',
      c: 'QUEUED',
      e: 'PENDING',
    });
    await report(v, { c: { result: 1 } });
    await report(v, { e: { result: 2 } });
    expect(await status(v.workflow.id)).toEqual({
      workflow: 'FAILED',
      steps: { a: 'FAILED', b: 'CANCELED', c: 'COMPLETED', e: 'COMPLETED' },
    });
    const retried = await retryWorkflow(deps, v.workflow.id);
    expect(retried.workflow).toMatchObject({ status: 'RUNNING', stepsFinished: 2 });
    expect((await status(v.workflow.id)).steps).toEqual({
      a: 'QUEUED',
      b: 'PENDING',
      c: 'COMPLETED',
      e: 'COMPLETED',
    });
    const a = await task(v, 'a');
    expect(a.attempt).toBe(2);
    expect((await task(v, 'b')).attempt).toBe(2);
    const again = await rejection(retryWorkflow(deps, v.workflow.id));
    expect(again.code).toBe('invalid_transition');
    await report(v, { a: { result: 'ok' } });
    await report(v, { b: { result: 'ok' } });
    expect((await getWorkflow(deps, v.workflow.id)).workflow).toMatchObject({
      status: 'COMPLETED',
      stepsCompleted: 4,
    });
    expect((await store.listEvents(v.workflow.id)).map((x) => x.type)).toEqual([
      'workflow_started',
      'workflow_failed',
      'workflow_retried',
      'workflow_completed',
    ]);
  });

  it('cancel: the workflow is CANCELED, waiting steps at once, running ones through the control topic', async () => {
    const v = await branches('continue');
    await report(v, { c: { type: 'started' } });
    const canceled = await cancelWorkflow(deps, v.workflow.id);
    expect(canceled.workflow.status).toBe('CANCELED');
    expect((await status(v.workflow.id)).steps).toEqual({
      a: 'CANCELED',
      b: 'CANCELED',
      c: 'RUNNING',
      e: 'CANCELED',
    });
    expect((await task(v, 'b')).error?.code).toBe('workflow_canceled');
    expect(await rejection(retryWorkflow(deps, v.workflow.id))).toMatchObject({ code: 'conflict' });
    await report(v, { c: { type: 'canceled' } });
    expect((await getWorkflow(deps, v.workflow.id)).workflow).toMatchObject({
      status: 'CANCELED',
      stepsFinished: 4,
    });
    expect((await cancelWorkflow(deps, v.workflow.id)).workflow.status).toBe('CANCELED');
    await retryWorkflow(deps, v.workflow.id);
    expect((await status(v.workflow.id)).steps).toEqual({
      a: 'QUEUED',
      b: 'PENDING',
      c: 'QUEUED',
      e: 'PENDING',
    });
  });

  it('a released step that must wait (its key is full) is WAITING and the admission loop is signalled for its queue', async () => {
    const admits: string[] = [];
    const signalling: DomainDeps = { ...deps, signals: { ...noSignals, admit: (q) => void admits.push(q) } };
    const keyed = (
      await createTemplate(deps, {
        name: 'wf-keyed',
        executor: 'echo',
        queue: 'wf-keyed-q',
        concurrencyKey: '/k',
        concurrencyLimit: 1,
      })
    ).name;
    const holder = await createWorkflow(
      deps,
      input({ name: 'holder', steps: [{ key: 'h', templateName: keyed, params: { k: 'y' } }] }),
    );
    expect((await task(holder, 'h')).status).toBe('QUEUED');
    const v = await createWorkflow(
      deps,
      input({
        steps: [
          { key: 'a', templateName: keyed, params: { k: 'x' } },
          { key: 'b', templateName: keyed, dependsOn: ['a'], params: { k: 'y' } },
        ],
      }),
    );
    await applyResults(signalling, [result(await task(v, 'a'), {})]);
    expect((await task(v, 'b')).status).toBe('WAITING');
    // Not left to the periodic sweep: the loop runs for the queue as soon as the unit commits.
    expect(admits).toContain('wf-keyed-q');
  });

  it('a 1,000-step fan-out 1 → 998 → 1 completes in O(steps) store calls, results applied by two replicas on MySQL', async () => {
    const { store: counted, calls } = counting(store);
    // MySQL: a second manager on the same database. SQLite has one writer, and two connections in
    // one process would wait on each other's lock: there the batches share one store.
    const other = dialect === 'mysql' ? counting(db.open()) : { store: counted, calls: { ops: 0, units: 0 } };
    const countedDeps: DomainDeps = { ...deps, store: counted };
    const otherDeps: DomainDeps = { ...deps, store: other.store };
    const middle = Array.from({ length: 998 }, (_, i) => `m${i}`);
    const v = await createWorkflow(
      countedDeps,
      input({
        name: 'fan',
        steps: [
          { key: 'root', templateName: echo },
          ...middle.map((key, i) => ({
            key,
            templateName: echo,
            dependsOn: ['root'],
            params: { i, seed: { $ref: '#/steps/root/result/seed' } },
          })),
          {
            key: 'sink',
            templateName: echo,
            dependsOn: middle,
            params: { first: { $ref: '#/steps/m0/result' }, last: { $ref: '#/steps/m997/result' } },
          },
        ],
      }),
    );
    const ids = new Map(v.steps.map((s) => [s.step.stepKey, s.task.id]));
    await applyResults(countedDeps, [result(await task(v, 'root'), { result: { seed: 7 } })]);
    const queued = (await store.getTasks(middle.map((k) => ids.get(k)!))).filter(
      (t) => t.status === 'QUEUED',
    );
    expect(queued).toHaveLength(998);
    expect(queued[0]!.params).toEqual({ i: expect.any(Number), seed: 7 });
    // Batches of 50 results, as the result consumer applies them, alternating between the replicas
    // and two at a time (MySQL runs them concurrently: the fan-in counter must still reach 0 once).
    const batches: ResultMessage[][] = [];
    for (let i = 0; i < queued.length; i += 50) {
      batches.push(queued.slice(i, i + 50).map((t) => result(t, { result: (t.params as { i: number }).i })));
    }
    for (let i = 0; i < batches.length; i += 2) {
      await Promise.all([
        applyResults(countedDeps, batches[i]!),
        ...(batches[i + 1] ? [applyResults(otherDeps, batches[i + 1]!)] : []),
      ]);
    }
    const sink = (await store.getTask(ids.get('sink')!))!;
    expect(sink.status).toBe('QUEUED');
    expect(sink.params).toEqual({ first: 0, last: 997 });
    expect((await store.listEvents(sink.id)).filter((e) => e.type === 'queued')).toHaveLength(1);
    await applyResults(countedDeps, [result(sink, { result: 'done' })]);
    const done = await getWorkflow(deps, v.workflow.id);
    expect(done.workflow).toMatchObject({ status: 'COMPLETED', stepsFinished: 1000, stepsCompleted: 1000 });
    const ops = calls.ops + other.calls.ops;
    const units = calls.units + other.calls.units;
    console.info(`[${dialect}] 1,000-step workflow: ${ops} store calls in ${units} units of work`);
    // Creation, 1,000 results and 1,000 admissions: a few calls per step, nothing per step per tick.
    expect(ops).toBeLessThan(10 * 1000);
    expect(units).toBeLessThan(40);
  });
});
