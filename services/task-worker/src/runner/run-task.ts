// Runs one dispatched task: checks, deadline and cancel signal, executor call, result messages.
import type { DispatchMessage, ResultMessage, ResultType, WireError } from '@taskwire/contracts';
import type { ExecutorContext, ExecutorLogger } from '@taskwire/executor-sdk';
import type { Logger } from 'pino';
import type { ExecutorRegistry } from '../registry/index.js';
import { MessageTooLargeError } from '../kafka/batching-producer.js';
import { formatProblems, schemaProblems } from '@taskwire/json-schema';
import type { SchemaCompiler } from '@taskwire/json-schema';
import { encodeResult, LOG_LINE_LIMIT, toWireError, truncate } from './encode.js';
import type { ResultLimits } from './encode.js';
import { TaskAbort } from './running-tasks.js';
import type { RunningTasks } from './running-tasks.js';
import type { SchemaRefs } from './schema-refs.js';

export interface RunnerDeps {
  workerId: string;
  registry: ExecutorRegistry;
  running: RunningTasks;
  /**
   * Re-checks params against the template's param_schema with the manager's rules (drafts, limits,
   * RE2 patterns): the schema in a dispatch message may have changed since the task was accepted.
   */
  schemas: SchemaCompiler;
  /**
   * The schemas dispatches name by hash (`param_schema_ref`), read from the schema topic. Absent:
   * a dispatch naming one fails retryably (another worker may have them).
   */
  schemaRefs?: SchemaRefs;
  /**
   * Sends one result message (key: task id). Resolves once the broker has acknowledged it; rejects
   * with MessageTooLargeError when it (and its replacement) can never be sent, with another error
   * when the producer closed first (shutdown).
   */
  publish(taskId: string, value: string): Promise<void>;
  /**
   * Queues the `started` message so that it can be withdrawn while still unsent, and serialised
   * (`value()`) only if it is sent: most tasks end before their request is built. Returns the
   * function that withdraws it (true when it will never be sent). Fire-and-forget: a started that
   * cannot be sent fails nothing. Optional: without it `started` always goes out through `publish`.
   */
  publishRetractable?(taskId: string, value: () => string): () => boolean;
  logger: Logger;
  now?: () => number;
  /** KAFKA_MAX_MESSAGE_BYTES and MAX_RESULT_BYTES (default DEFAULT_RESULT_LIMITS). */
  limits?: ResultLimits;
}

/**
 * The terminal result published, `abandoned` (aborted at shutdown: nothing published, redelivered),
 * or `unpublished` (its result can never be sent: given up, see giveUpResult).
 */
export type RunOutcome =
  Extract<ResultType, 'succeeded' | 'failed' | 'timed_out' | 'canceled'> | 'abandoned' | 'unpublished';

/** Log and progress messages one attempt may send; more are dropped (with one note saying so). */
const SIDE_MESSAGE_LIMIT = 1000;

/**
 * The error of a value its schema refused, not retryable (the same value would be refused again):
 * `what` names the value and the schema; every problem ajv reported follows, and is in details.
 */
function schemaMismatch(
  what: string,
  code: 'invalid_params' | 'invalid_result',
  errors: Parameters<typeof schemaProblems>[0],
): WireError {
  const problems = schemaProblems(errors);
  return {
    message: `${what}: ${formatProblems(problems)}`,
    code,
    retryable: false,
    data: { details: problems },
  };
}

/**
 * The ExecutorContext of one run. A class, not an object literal: V8 builds a literal with getters
 * through a slow path (~2 µs each, more than the rest of a no-op task's run). `log` and `progress`
 * are own functions, so an executor may destructure them.
 */
class RunContext implements ExecutorContext {
  #controller: AbortController | undefined;
  #abortReason: TaskAbort | undefined;
  #logger: ExecutorLogger | undefined;
  readonly #makeLogger: () => ExecutorLogger;

  constructor(
    readonly params: unknown,
    readonly taskId: string,
    readonly attempt: number,
    readonly deadline: number,
    readonly log: (line: string) => void,
    readonly progress: (pct: number, message?: string) => void,
    makeLogger: () => ExecutorLogger,
  ) {
    this.#makeLogger = makeLogger;
  }

  get abortReason(): TaskAbort | undefined {
    return this.#abortReason;
  }

  /** Aborts the signal (if it was read) with `reason`; false when the run was already aborted. */
  abort(reason: TaskAbort): boolean {
    if (this.#abortReason) return false;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
    return true;
  }

  // The AbortController is made only when the executor reads ctx.signal: most fast executors never
  // do, and a controller, its signal and listener are a measurable share of a no-op task's CPU.
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#abortReason) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  // A child logger costs a few µs: only build it for executors that log.
  get logger(): ExecutorLogger {
    return (this.#logger ??= this.#makeLogger());
  }
}

/**
 * The terminal result of a run can never be sent: Kafka refused it and its `failed` replacement as
 * too large (a topic or broker limit below KAFKA_MAX_MESSAGE_BYTES). Retrying cannot help, and
 * leaving the dispatch uncommitted would stall its partition's commits until the next rebalance or
 * restart, which then runs every later task of it again. The manager's watchdog times out (and
 * retries, per the template) a RUNNING attempt whose result never comes, but it does not look at
 * QUEUED tasks, and the manager may never have heard that this run started (its `started` is
 * withdrawn when the result is to carry started_at). So a `started` goes out first (a duplicate
 * is ignored); once it is acknowledged the run is given up (`unpublished`: the dispatch offset may
 * be committed). If it cannot be sent either, the original error stands: the dispatch stays
 * uncommitted and is delivered again after the next rebalance or restart.
 */
function giveUpResult(
  err: MessageTooLargeError,
  started: ResultMessage,
  type: ResultType,
  deps: RunnerDeps,
): Promise<RunOutcome> {
  const { task_id: taskId, attempt } = started;
  const what = `the ${type} result of task ${taskId} attempt ${attempt} cannot be published (${err.message})`;
  return deps.publish(taskId, JSON.stringify(started)).then(
    () => {
      deps.logger.error(
        { err, taskId, attempt, type },
        `${what}: given up; the manager's watchdog will time the attempt out`,
      );
      return 'unpublished';
    },
    (startedErr: unknown) => {
      deps.logger.error(
        { err, startedError: (startedErr as Error).message, taskId, attempt, type },
        `${what}, nor its started message: the dispatch stays uncommitted and is delivered again`,
      );
      throw err;
    },
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Runs `msg` and publishes its started/progress/log messages and exactly one terminal result
 * (unless abandoned at shutdown). Calls `onExecuted` once the executor is done (before the result
 * is acknowledged: the caller may start another task meanwhile). Resolves once the terminal result
 * is acknowledged (or given up, `unpublished`), so the caller may then commit the dispatch offset;
 * rejects only when nothing can be published (at shutdown, or see giveUpResult).
 */
export async function runTask(
  msg: DispatchMessage,
  deps: RunnerDeps,
  onExecuted?: () => void,
): Promise<RunOutcome> {
  const now = deps.now ?? Date.now;
  const { task_id: taskId, attempt } = msg;
  const base = (type: ResultType): ResultMessage => ({
    v: 1,
    type,
    task_id: taskId,
    attempt,
    worker_id: deps.workerId,
    at: now(),
  });
  // A task that ends before its `started` message left the worker sends only its terminal result,
  // carrying the start time: one message instead of two, and no wait behind the started request.
  let startedAt: number | undefined;
  let retractStarted = (): boolean => false;
  let sideSent = false;
  // Not async: a promise chain costs less than an async function's frame, per task.
  const finish = (type: RunOutcome & ResultType, extra: Partial<ResultMessage>): Promise<RunOutcome> => {
    onExecuted?.();
    const message = Object.assign(base(type), extra);
    if (startedAt !== undefined && !sideSent && retractStarted()) message.started_at = startedAt;
    const encoded = encodeResult(message, deps.limits);
    return deps.publish(taskId, encoded.value).then(
      () => encoded.message.type as RunOutcome,
      (err: unknown) => {
        if (!(err instanceof MessageTooLargeError)) throw err; // shutdown: the dispatch is redelivered
        return giveUpResult(err, base('started'), encoded.message.type, deps);
      },
    );
  };
  const fail = (error: WireError): Promise<RunOutcome> => finish('failed', { error });

  /** A cancel that came before the run (before the dispatch arrived, or while it waited for its schema). */
  const canceledBeforeStart = (): Promise<RunOutcome> | null =>
    deps.running.wasCanceled(taskId, attempt, msg.queued_at)
      ? finish('canceled', {
          error: {
            message: `task ${taskId} attempt ${attempt} was canceled before it started`,
            code: 'canceled',
            retryable: false,
          },
        })
      : null;

  const canceled = canceledBeforeStart();
  if (canceled) return canceled;

  const loaded = deps.registry.get(msg.executor);
  if (!loaded) {
    return fail({
      message: `worker ${deps.workerId} has no executor "${msg.executor}" (it serves: ${deps.registry.names.join(', ')})`,
      code: 'executor_not_found',
      retryable: false,
      data: { worker_id: deps.workerId, executor: msg.executor, executors: deps.registry.names },
    });
  }

  // The schema as of queue time: by hash from the schema topic, or inline from an older manager.
  let paramSchema = msg.param_schema ?? null;
  const ref = msg.param_schema_ref;
  if (ref !== undefined) {
    paramSchema = deps.schemaRefs?.get(ref) ?? null;
    if (!paramSchema) {
      try {
        if (!deps.schemaRefs) throw new Error(`worker ${deps.workerId} reads no schema topic`);
        paramSchema = await deps.schemaRefs.wait(ref);
      } catch (err) {
        return fail({
          message: `template ${msg.template_name} param_schema ${ref} is not available: ${(err as Error).message}`,
          code: 'schema_unavailable',
          retryable: true,
          data: { param_schema_ref: ref },
        });
      }
      // A cancel may have come while the task waited for its schema.
      const canceledWhileWaiting = canceledBeforeStart();
      if (canceledWhileWaiting) return canceledWhileWaiting;
    }
  }
  if (paramSchema) {
    const { validate, error } = deps.schemas.tryCompile(paramSchema, 'param_schema');
    if (!validate) {
      return fail({
        message: `template ${msg.template_name} param_schema cannot be used: ${error.message}`,
        code: 'invalid_schema',
        retryable: false,
      });
    }
    if (!validate(msg.params)) {
      const what = `params do not match template ${msg.template_name}'s param_schema`;
      return fail(schemaMismatch(what, 'invalid_params', validate.errors));
    }
  }
  if (loaded.validateParams && !loaded.validateParams(msg.params)) {
    const what = `params do not match executor ${msg.executor}'s paramsSchema`;
    return fail(schemaMismatch(what, 'invalid_params', loaded.validateParams.errors));
  }

  const runStart = now();
  const deadline = Math.min(msg.deadline, runStart + msg.timeout_ms);
  if (deadline <= runStart) {
    return finish('timed_out', {
      error: {
        message: `task ${taskId} attempt ${attempt} reached its deadline (${new Date(deadline).toISOString()}) before it started`,
        code: 'timeout',
        retryable: true,
      },
    });
  }

  // Fire-and-forget messages: a lost log line must not fail the task.
  let done = false;
  let sideMessages = 0;
  const side = (extra: Partial<ResultMessage> & { type: ResultType }): void => {
    sideSent = true;
    const { value } = encodeResult({ ...base(extra.type), ...extra }, deps.limits);
    deps.publish(taskId, value).catch((err: unknown) => {
      deps.logger.debug({ taskId, attempt, err }, 'could not publish a progress/log message');
    });
  };
  const allowSide = (): boolean => {
    if (done) return false;
    if (++sideMessages < SIDE_MESSAGE_LIMIT) return true;
    if (sideMessages === SIDE_MESSAGE_LIMIT)
      side({
        type: 'log',
        message: `log/progress limit of ${SIDE_MESSAGE_LIMIT} messages reached; further ones are dropped`,
      });
    return false;
  };

  if (deps.publishRetractable) {
    const started = base('started');
    startedAt = started.at;
    retractStarted = deps.publishRetractable(taskId, () => encodeResult(started, deps.limits).value);
  } else side({ type: 'started' });
  const ctx = new RunContext(
    msg.params,
    taskId,
    attempt,
    deadline,
    (line) => {
      if (allowSide()) side({ type: 'log', message: truncate(String(line), LOG_LINE_LIMIT) });
    },
    (pct, message) => {
      if (typeof pct !== 'number' || Number.isNaN(pct) || !allowSide()) return;
      const extra: Partial<ResultMessage> & { type: ResultType } = {
        type: 'progress',
        pct: Math.min(100, Math.max(0, pct)),
      };
      if (message !== undefined) extra.message = truncate(String(message), LOG_LINE_LIMIT);
      side(extra);
    },
    () => deps.logger.child({ taskId, attempt, executor: msg.executor }),
  );
  let rejectAborted: ((reason: TaskAbort) => void) | undefined;
  const abort = (reason: TaskAbort): boolean => {
    if (!ctx.abort(reason)) return false;
    rejectAborted?.(reason);
    return true;
  };

  let result: unknown;
  let thrown: unknown;
  let ok = false;
  let running: PromiseLike<unknown> | undefined;
  try {
    const returned = loaded.executor.run(ctx);
    if (isThenable(returned)) running = returned;
    else {
      result = returned;
      ok = true;
    }
  } catch (err) {
    thrown = err;
  }
  // Only an executor that returned a promise can be reached by a cancel or its deadline while it
  // runs (both come from timers or messages, which need the event loop): the timer, the entry in
  // `running` and the race are made for those alone, not for the many that return at once.
  if (running) {
    const aborted = new Promise<never>((_, reject) => (rejectAborted = reject));
    const removeRunning = deps.running.add(taskId, attempt, abort);
    const timer = setTimeout(() => {
      abort(
        new TaskAbort(
          'timeout',
          `task ${taskId} attempt ${attempt} timed out after ${deadline - runStart} ms`,
        ),
      );
    }, deadline - runStart);
    try {
      // The race lets a task end at its deadline even when the executor ignores its signal.
      result = await Promise.race([running, aborted]);
      ok = true;
    } catch (err) {
      thrown = err;
    } finally {
      clearTimeout(timer);
      removeRunning();
    }
  }
  done = true;

  if (ok) {
    if (loaded.validateResult && !loaded.validateResult(result)) {
      const what = `result does not match executor ${msg.executor}'s resultSchema`;
      return fail(schemaMismatch(what, 'invalid_result', loaded.validateResult.errors));
    }
    return finish('succeeded', { result: result === undefined ? null : result });
  }
  const reason = ctx.abortReason;
  if (reason) {
    if (reason.kind === 'shutdown') {
      onExecuted?.();
      return 'abandoned';
    }
    if (reason.kind === 'cancel')
      return finish('canceled', { error: { message: reason.message, code: 'canceled', retryable: false } });
    return finish('timed_out', { error: { message: reason.message, code: 'timeout', retryable: true } });
  }
  return fail(toWireError(thrown));
}
