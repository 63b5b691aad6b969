// A stand-alone ExecutorContext for unit tests of executors: no worker, no Kafka.
import type { ExecutorContext, ExecutorLogger } from './executor.js';

/** What {@link testContext} records from the executor, for assertions. */
export interface TestContext<P> extends ExecutorContext<P> {
  readonly logs: string[];
  readonly progressReports: Array<{ pct: number; message?: string }>;
}

/**
 * An ExecutorContext for calling `executor.run(ctx)` directly in a test: task `t1`, attempt 1,
 * a deadline a minute away, a silent logger; `log` and `progress` calls are recorded.
 *
 * @example
 * ```ts
 * const ctx = testContext({ url: 'https://example.com' });
 * expect(await myExecutor.run(ctx)).toEqual({ status: 200 });
 * expect(ctx.logs).toContain('fetching https://example.com');
 * ```
 */
export function testContext<P>(
  params: P,
  signal: AbortSignal = new AbortController().signal,
  overrides: Partial<Pick<ExecutorContext<P>, 'taskId' | 'attempt' | 'deadline'>> = {},
): TestContext<P> {
  const noop = (): undefined => undefined;
  const logger: ExecutorLogger = {
    trace: noop,
    debug: noop,
    info: noop,
    warn: noop,
    error: noop,
    child: () => logger,
  };
  const logs: string[] = [];
  const progressReports: Array<{ pct: number; message?: string }> = [];
  return {
    params,
    taskId: 't1',
    attempt: 1,
    signal,
    deadline: Date.now() + 60_000,
    ...overrides,
    log: (line) => void logs.push(line),
    progress: (pct, message) => void progressReports.push(message === undefined ? { pct } : { pct, message }),
    logger,
    logs,
    progressReports,
  };
}

/** Resolves with the error `p` rejects with; rejects when `p` resolves (a test expected a failure). */
export async function rejectionOf<E = Error>(p: Promise<unknown>): Promise<E> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: E) => err,
  );
}
