// The executor shape (defineExecutor) and the context the worker hands to run().

/** A JSON Schema (2020-12 unless its `$schema` names draft-07) as a plain object. */
export type JsonSchema = Record<string, unknown>;

/**
 * The logger an executor gets: the subset of pino's API the worker guarantees. Fields given to
 * `child()` are added to every line.
 */
export interface ExecutorLogger {
  trace(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): ExecutorLogger;
}

/**
 * What `run()` receives for one attempt of one task.
 *
 * @example
 * ```ts
 * async run(ctx: ExecutorContext<{ url: string }>) {
 *   ctx.log(`fetching ${ctx.params.url} (attempt ${ctx.attempt})`);
 *   const res = await fetch(ctx.params.url, { signal: ctx.signal });
 *   ctx.progress(100);
 *   return { status: res.status };
 * }
 * ```
 */
export interface ExecutorContext<P = unknown> {
  /** The task's params, already checked against the template's param_schema and `paramsSchema`. */
  readonly params: P;
  /** The task id: with `attempt`, a key to make side effects idempotent. */
  readonly taskId: string;
  /** 1 for the first run, 2 for the first retry… A redelivered message keeps its attempt. */
  readonly attempt: number;
  /**
   * Aborted when the task times out, is cancelled, or the worker gives up on it at shutdown. Pass it
   * to fetch/spawn/timers; `signal.reason` says why.
   */
  readonly signal: AbortSignal;
  /** Epoch ms at which `signal` aborts for the timeout. */
  readonly deadline: number;
  /** Sends a log line to the task's history (long lines are truncated). */
  log(line: string): void;
  /** Reports progress, 0–100, with an optional message. */
  progress(pct: number, message?: string): void;
  /** A logger bound to this task (taskId, attempt, executor) for the worker's own logs. */
  readonly logger: ExecutorLogger;
}

/** What a plugin passes to {@link defineExecutor}. */
export interface ExecutorDefinition<P = unknown, R = unknown> {
  /** Unique name that templates refer to: `^[a-z0-9][a-z0-9_.-]{0,63}$`. */
  name: string;
  /** One line for humans: shown in heartbeats and docs. */
  description: string;
  /** Params this executor accepts; the worker rejects others (non-retryable) before `run`. */
  paramsSchema?: JsonSchema;
  /** Shape of what `run` returns; the worker fails the task (non-retryable) on a mismatch. */
  resultSchema?: JsonSchema;
  /** Runs one attempt. Return a JSON-serialisable result or throw (see `ExecutorError`). */
  run(ctx: ExecutorContext<P>): Promise<R> | R;
}

/** An executor as the worker sees it: a checked {@link ExecutorDefinition}. */
export type Executor<P = unknown, R = unknown> = Readonly<ExecutorDefinition<P, R>>;

/**
 * Declares an executor. A plugin module default-exports one executor or an array of them.
 *
 * @example
 * ```ts
 * import { defineExecutor } from '@taskwire/executor-sdk';
 *
 * export default defineExecutor<{ text: string }, { upper: string }>({
 *   name: 'upper',
 *   description: 'Upper-cases params.text',
 *   paramsSchema: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } },
 *   run: ({ params }) => ({ upper: params.text.toUpperCase() }),
 * });
 * ```
 */
export function defineExecutor<P = unknown, R = unknown>(
  definition: ExecutorDefinition<P, R>,
): Executor<P, R> {
  if (typeof definition.run !== 'function') {
    throw new TypeError(`executor ${String(definition.name)}: run must be a function`);
  }
  return Object.freeze({ ...definition });
}

/**
 * True when a value has the executor shape (a string name, a string description and a run
 * function). The worker's registry does the full check.
 *
 * @example
 * ```ts
 * const mod = await import('./my-plugin.js');
 * const list = [mod.default].flat().filter(isExecutor);
 * ```
 */
export function isExecutor(value: unknown): value is Executor {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === 'string' && typeof v.description === 'string' && typeof v.run === 'function';
}
