import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ResultMessage } from '@taskwire/contracts';
import { decodeResult } from '@taskwire/contracts';
import { defineExecutor, ExecutorError } from '@taskwire/executor-sdk';
import { builtinExecutors } from '@taskwire/executors';
import { buildRegistry } from '../registry/index.js';
import { SchemaCompiler, schemaRef } from '@taskwire/json-schema';
import { runTask } from './run-task.js';
import { RunningTasks } from './running-tasks.js';
import { SchemaRefs } from './schema-refs.js';
import { testDispatch } from '../testing/dispatch.js';

const never = defineExecutor({
  name: 'never',
  description: 'ignores its signal and never settles',
  run: () => new Promise(() => undefined),
});
const chatty = defineExecutor({
  name: 'chatty',
  description: 'logs and reports progress',
  run: (ctx) => {
    ctx.log('hello');
    ctx.progress(150, 'almost');
    ctx.logger.debug('a worker log line');
    return undefined;
  },
});
const throwing = defineExecutor<{ kind: string }>({
  name: 'throwing',
  description: 'throws what it is told',
  run: ({ params }) => {
    if (params.kind === 'plain') throw new Error('boom');
    if (params.kind === 'final') throw ExecutorError.nonRetryable('bad input', { field: 'x' });
    if (params.kind === 'string') throw 'just a string';
    return { big: 'x'.repeat(1024 * 1024) };
  },
});
const thenable = defineExecutor({
  name: 'thenable',
  description: 'returns a thenable that is not a Promise',
  run: () => ({ then: (resolve: (v: unknown) => void) => setTimeout(() => resolve({ late: true }), 5) }),
});
const destructuring = defineExecutor({
  name: 'unpacking',
  description: 'takes its context apart before using it',
  run: ({ log, progress, signal, logger, params }) => {
    log('detached');
    progress(50);
    logger.debug('still bound');
    return { aborted: signal.aborted, params };
  },
});
const typed = defineExecutor({
  name: 'typed',
  description: 'returns a result that violates its own resultSchema',
  resultSchema: { type: 'object', required: ['n'] },
  run: () => ({}),
});

function setup() {
  const registry = buildRegistry(
    [
      { plugin: '@taskwire/executors', value: builtinExecutors },
      { plugin: 'test', value: [never, chatty, throwing, typed, thenable, destructuring] },
    ],
    { allowShell: false },
  );
  const sent: ResultMessage[] = [];
  const running = new RunningTasks();
  const deps = {
    workerId: 'w-test',
    registry,
    running,
    schemas: new SchemaCompiler(),
    schemaRefs: new SchemaRefs(60_000),
    logger: pino({ level: 'silent' }),
    publish: async (_key: string, value: string) => {
      const decoded = decodeResult(value);
      if (!decoded.ok) throw new Error(decoded.reason);
      sent.push(decoded.value);
    },
  };
  return { deps, sent, running };
}

const types = (sent: ResultMessage[]) => sent.map((m) => m.type);

describe('runTask', () => {
  it('publishes started then succeeded with the result', async () => {
    const { deps, sent } = setup();
    const msg = testDispatch({ params: { a: 1 } });
    await expect(runTask(msg, deps)).resolves.toBe('succeeded');
    expect(types(sent)).toEqual(['started', 'succeeded']);
    expect(sent[1]).toMatchObject({
      task_id: msg.task_id,
      attempt: 1,
      worker_id: 'w-test',
      result: { a: 1 },
    });
  });

  it('sends log lines and clamped progress, and a null result for undefined', async () => {
    const { deps, sent } = setup();
    await runTask(testDispatch({ executor: 'chatty' }), deps);
    expect(types(sent)).toEqual(['started', 'log', 'progress', 'succeeded']);
    expect(sent[1]?.message).toBe('hello');
    expect(sent[2]).toMatchObject({ pct: 100, message: 'almost' });
    expect(sent[3]?.result).toBeNull();
  });

  it('turns a thrown Error into a retryable failure', async () => {
    const { deps, sent } = setup();
    await expect(
      runTask(testDispatch({ executor: 'throwing', params: { kind: 'plain' } }), deps),
    ).resolves.toBe('failed');
    expect(sent.at(-1)?.error).toMatchObject({ message: 'boom', retryable: true, data: { name: 'Error' } });
  });

  it('keeps ExecutorError.nonRetryable non-retryable, with its data', async () => {
    const { deps, sent } = setup();
    await runTask(testDispatch({ executor: 'throwing', params: { kind: 'final' } }), deps);
    expect(sent.at(-1)?.error).toEqual({ message: 'bad input', retryable: false, data: { field: 'x' } });
  });

  it('reports a thrown non-Error value', async () => {
    const { deps, sent } = setup();
    await runTask(testDispatch({ executor: 'throwing', params: { kind: 'string' } }), deps);
    expect(sent.at(-1)?.error).toEqual({
      message: 'executor threw a non-Error value: just a string',
      retryable: true,
    });
  });

  it('fails non-retryably, naming the paths, when params violate the template param_schema', async () => {
    const { deps, sent } = setup();
    const param_schema = { type: 'object', required: ['to'], properties: { n: { type: 'integer' } } };
    await expect(runTask(testDispatch({ params: { n: 'x' }, param_schema }), deps)).resolves.toBe('failed');
    expect(types(sent)).toEqual(['failed']);
    expect(sent[0]?.error).toMatchObject({ code: 'invalid_params', retryable: false });
    expect(sent[0]?.error?.message).toBe(
      "params do not match template tpl's param_schema: / must have required property 'to'; /n must be integer",
    );
  });

  it("checks params against the executor's own paramsSchema too", async () => {
    const { deps, sent } = setup();
    await runTask(testDispatch({ executor: 'sleep', params: { ms: -1 } }), deps);
    expect(sent[0]?.error?.message).toBe(
      "params do not match executor sleep's paramsSchema: /ms must be >= 0",
    );
  });

  it('re-validates params against the schema its dispatch names by hash, naming the paths', async () => {
    const { deps, sent } = setup();
    const schema = { type: 'object', required: ['to'], properties: { n: { type: 'integer' } } };
    const ref = schemaRef(schema);
    deps.schemaRefs.add(ref, schema);
    const msg = testDispatch({ params: { n: 'x' }, param_schema_ref: ref });
    delete msg.param_schema;
    await expect(runTask(msg, deps)).resolves.toBe('failed');
    expect(sent.at(-1)?.error).toMatchObject({
      code: 'invalid_params',
      retryable: false,
      message:
        "params do not match template tpl's param_schema: / must have required property 'to'; /n must be integer",
    });
    await expect(
      runTask(testDispatch({ params: { to: 'a', n: 1 }, param_schema_ref: ref }), deps),
    ).resolves.toBe('succeeded');
  });

  it('waits for a schema that arrives after its dispatch, then runs the task', async () => {
    const { deps, sent } = setup();
    const schema = { type: 'object', required: ['to'] };
    const ref = schemaRef(schema);
    const outcome = runTask(testDispatch({ params: { to: 'a' }, param_schema_ref: ref }), deps);
    await Promise.resolve();
    expect(sent).toEqual([]);
    deps.schemaRefs.add(ref, schema);
    await expect(outcome).resolves.toBe('succeeded');
    expect(types(sent)).toEqual(['started', 'succeeded']);
  });

  it('fails retryably, naming the hash, when the schema a dispatch names never arrives', async () => {
    const { deps, sent } = setup();
    const ref = schemaRef({ type: 'object', title: 'never published' });
    const refs = new SchemaRefs(1);
    await expect(
      runTask(testDispatch({ param_schema_ref: ref }), { ...deps, schemaRefs: refs }),
    ).resolves.toBe('failed');
    expect(types(sent)).toEqual(['failed']);
    expect(sent[0]?.error).toMatchObject({
      code: 'schema_unavailable',
      retryable: true,
      data: { param_schema_ref: ref },
    });
    expect(sent[0]?.error?.message).toContain(ref);
  });

  it('fails non-retryably when the param_schema does not compile', async () => {
    const { deps, sent } = setup();
    await runTask(testDispatch({ param_schema: { type: 'wrong' } }), deps);
    expect(sent[0]?.error).toMatchObject({ code: 'invalid_schema', retryable: false });
  });

  it('reads a param_schema without $schema as draft-07, as the manager does: tuple items per position', async () => {
    const { deps, sent } = setup();
    const param_schema = {
      type: 'object',
      properties: { pair: { items: [{ type: 'string' }, { type: 'integer' }] } },
    };
    await expect(runTask(testDispatch({ params: { pair: ['a', 1] }, param_schema }), deps)).resolves.toBe(
      'succeeded',
    );
    await expect(runTask(testDispatch({ params: { pair: [1, 'a'] }, param_schema }), deps)).resolves.toBe(
      'failed',
    );
    expect(sent.at(-1)?.error?.message).toBe(
      "params do not match template tpl's param_schema: /pair/0 must be string; /pair/1 must be integer",
    );
  });

  it('checks a ReDoS pattern on RE2: a 30-character param gets the right verdict at once', async () => {
    const { deps, sent } = setup();
    const param_schema = { properties: { s: { type: 'string', pattern: '^(a+)+$' } } };
    await runTask(testDispatch({ params: { s: `${'a'.repeat(30)}!` }, param_schema }), deps);
    expect(sent.at(-1)?.error).toMatchObject({ code: 'invalid_params', retryable: false });
    await expect(runTask(testDispatch({ params: { s: 'a'.repeat(30) }, param_schema }), deps)).resolves.toBe(
      'succeeded',
    );
  });

  it('fails non-retryably, naming the limit, when the param_schema is over SCHEMA_MAX_*', async () => {
    const { deps, sent } = setup();
    deps.schemas = new SchemaCompiler({ limits: { maxNodes: 10 } });
    await runTask(testDispatch({ param_schema: { enum: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] } }), deps);
    expect(sent[0]?.error).toMatchObject({ code: 'invalid_schema', retryable: false });
    expect(sent[0]?.error?.message).toContain('over the limit of 10 (SCHEMA_MAX_NODES)');
  });

  it('fails non-retryably naming the worker and the executor when the executor is unknown', async () => {
    const { deps, sent } = setup();
    await expect(runTask(testDispatch({ executor: 'teleport' }), deps)).resolves.toBe('failed');
    expect(sent[0]?.error).toMatchObject({ code: 'executor_not_found', retryable: false });
    expect(sent[0]?.error?.message).toMatch(
      /^worker w-test has no executor "teleport" \(it serves: chatty, echo, /,
    );
  });

  it('fails a result that violates the executor resultSchema', async () => {
    const { deps, sent } = setup();
    await runTask(testDispatch({ executor: 'typed' }), deps);
    expect(sent.at(-1)?.error).toMatchObject({ code: 'invalid_result', retryable: false });
  });

  it('fails non-retryably a result larger than MAX_RESULT_BYTES, naming the limit', async () => {
    const { deps, sent } = setup();
    await runTask(testDispatch({ executor: 'throwing', params: { kind: 'big' } }), deps);
    expect(sent.at(-1)).toMatchObject({
      type: 'failed',
      error: { code: 'result_too_large', retryable: false },
    });
    expect(sent.at(-1)?.error?.message).toMatch(/more than the 262144 allowed \(MAX_RESULT_BYTES\)/);
  });

  it('counts MAX_RESULT_BYTES in UTF-8 bytes: a result of exactly the limit succeeds, one byte more fails', async () => {
    const limits = { messageBytes: 1024 * 1024, resultBytes: 1000 };
    // {"blob":"…"} is 11 bytes of JSON around the text; each é is 2 bytes.
    const text = (bytes: number): string => 'é'.repeat(Math.floor(bytes / 2)) + 'z'.repeat(bytes % 2);
    const { deps, sent } = setup();
    await runTask(testDispatch({ params: { blob: text(1000 - 11) } }), { ...deps, limits });
    expect(sent.at(-1)).toMatchObject({ type: 'succeeded', result: { blob: text(989) } });
    await runTask(testDispatch({ params: { blob: text(1001 - 11) } }), { ...deps, limits });
    expect(sent.at(-1)).toMatchObject({ type: 'failed', error: { code: 'result_too_large' } });
    expect(sent.at(-1)?.error?.message).toMatch(/is 1001 bytes of JSON, more than the 1000 allowed/);
  });

  it('fails non-retryably a result message larger than KAFKA_MAX_MESSAGE_BYTES, naming the limit', async () => {
    const { deps, sent } = setup();
    const limits = { messageBytes: 4096, resultBytes: 2 * 1024 * 1024 };
    await runTask(testDispatch({ params: { blob: 'z'.repeat(10_000) } }), { ...deps, limits });
    expect(sent.at(-1)).toMatchObject({
      type: 'failed',
      error: { code: 'message_too_large', retryable: false },
    });
    expect(sent.at(-1)?.error?.message).toMatch(
      /more than the 4096 allowed in one Kafka message \(KAFKA_MAX_MESSAGE_BYTES\)/,
    );
  });

  it('lets an executor destructure its context: log, progress, signal and logger work detached', async () => {
    const { deps, sent } = setup();
    await expect(runTask(testDispatch({ executor: 'unpacking', params: { a: 1 } }), deps)).resolves.toBe(
      'succeeded',
    );
    expect(types(sent)).toEqual(['started', 'log', 'progress', 'succeeded']);
    expect(sent[1]?.message).toBe('detached');
    expect(sent[2]?.pct).toBe(50);
    expect(sent[3]?.result).toEqual({ aborted: false, params: { a: 1 } });
  });

  it('awaits an executor that returns a thenable, and counts it as running until it settles', async () => {
    const { deps, sent, running } = setup();
    const outcome = runTask(testDispatch({ executor: 'thenable' }), deps);
    await expect.poll(() => running.size).toBe(1);
    await expect(outcome).resolves.toBe('succeeded');
    expect(sent.at(-1)?.result).toEqual({ late: true });
    expect(running.size).toBe(0);
  });

  it('aborts the signal at the deadline and reports timed_out, even if the executor ignores it', async () => {
    const { deps, sent, running } = setup();
    await expect(runTask(testDispatch({ executor: 'never', timeout_ms: 30 }), deps)).resolves.toBe(
      'timed_out',
    );
    expect(sent.at(-1)?.error).toMatchObject({ code: 'timeout', retryable: true });
    expect(sent.at(-1)?.error?.message).toMatch(/timed out after 30 ms/);
    expect(running.size).toBe(0);
  });

  it('uses the message deadline when it comes before now + timeout_ms', async () => {
    const { deps, sent } = setup();
    const msg = testDispatch({ executor: 'sleep', params: { ms: 60_000 }, deadline: Date.now() + 20 });
    await expect(runTask(msg, deps)).resolves.toBe('timed_out');
    expect(types(sent)).toEqual(['started', 'timed_out']);
  });

  it('times out without running a task whose deadline has passed', async () => {
    const { deps, sent } = setup();
    await expect(runTask(testDispatch({ deadline: Date.now() - 1 }), deps)).resolves.toBe('timed_out');
    expect(types(sent)).toEqual(['timed_out']);
  });

  it('a cancel aborts the running attempt and reports canceled', async () => {
    const { deps, sent, running } = setup();
    const msg = testDispatch({ executor: 'sleep', params: { ms: 60_000 } });
    const outcome = runTask(msg, deps);
    await expect.poll(() => running.size).toBe(1);
    expect(running.cancel(msg.task_id, undefined, Date.now())).toBe(1);
    await expect(outcome).resolves.toBe('canceled');
    expect(types(sent)).toEqual(['started', 'canceled']);
    expect(sent[1]?.error).toMatchObject({ code: 'canceled', retryable: false });
  });

  it('a cancel for another attempt leaves the running one alone', async () => {
    const { deps, running } = setup();
    const msg = testDispatch({ executor: 'sleep', params: { ms: 50 }, attempt: 2 });
    const outcome = runTask(msg, deps);
    await expect.poll(() => running.size).toBe(1);
    expect(running.cancel(msg.task_id, 1, Date.now())).toBe(0);
    await expect(outcome).resolves.toBe('succeeded');
  });

  it('skips a dispatch cancelled before it arrived, but not one queued after the cancel', async () => {
    const { deps, sent, running } = setup();
    const msg = testDispatch({});
    running.cancel(msg.task_id, undefined, msg.queued_at + 1);
    await expect(runTask(msg, deps)).resolves.toBe('canceled');
    expect(types(sent)).toEqual(['canceled']);
    await expect(runTask({ ...msg, attempt: 2, queued_at: msg.queued_at + 5 }, deps)).resolves.toBe(
      'succeeded',
    );
  });

  it('abandons a task aborted for shutdown without publishing a terminal result', async () => {
    const { deps, sent, running } = setup();
    const { TaskAbort } = await import('./running-tasks.js');
    const outcome = runTask(testDispatch({ executor: 'never' }), deps);
    await expect.poll(() => running.size).toBe(1);
    running.abortAll(new TaskAbort('shutdown', 'bye'));
    await expect(outcome).resolves.toBe('abandoned');
    expect(types(sent)).toEqual(['started']);
  });

  it('sends only the terminal result, carrying started_at, when started was withdrawn unsent', async () => {
    const { deps, sent } = setup();
    const withdrawn: string[] = [];
    const msg = testDispatch({ params: { a: 1 } });
    const outcome = await runTask(msg, {
      ...deps,
      publishRetractable: (_key: string, value: () => string) => () => (withdrawn.push(value()), true),
    });
    expect(outcome).toBe('succeeded');
    expect(types(sent)).toEqual(['succeeded']);
    expect(withdrawn.map((v) => (JSON.parse(v) as ResultMessage).type)).toEqual(['started']);
    const startedAt = (JSON.parse(withdrawn[0]!) as ResultMessage).at;
    expect(sent[0]).toMatchObject({ result: { a: 1 }, started_at: startedAt });
  });

  it('keeps started (and sends no started_at) once it could not be withdrawn or a log line followed it', async () => {
    for (const [executor, retractable] of [
      ['echo', false],
      ['chatty', true],
    ] as const) {
      const { deps, sent } = setup();
      const started: string[] = [];
      await runTask(testDispatch({ executor }), {
        ...deps,
        publishRetractable: (_key: string, value: () => string) => {
          started.push(value());
          return () => retractable;
        },
      });
      expect(started).toHaveLength(1);
      expect(sent.at(-1)?.type).toBe('succeeded');
      expect(sent.at(-1)?.started_at).toBeUndefined();
    }
  });
});
