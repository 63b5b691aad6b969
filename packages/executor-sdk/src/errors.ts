// ExecutorError: how an executor says whether a failure is worth another attempt.

/** Options of {@link ExecutorError}'s constructor. */
export interface ExecutorErrorOptions {
  /** false: the task fails for good; true: the manager retries it if attempts remain. */
  retryable: boolean;
  /** Structured details sent with the failure (HTTP status, exit code…). Must be JSON-serialisable. */
  data?: unknown;
  /** Short machine-readable code, e.g. `http_status` or `exit_code`. */
  code?: string;
  /** The underlying error, kept for logs. */
  cause?: unknown;
}

/**
 * An error thrown by an executor that says whether the task may be retried. Any other thrown value
 * counts as retryable, so throw `ExecutorError.nonRetryable()` for failures another attempt cannot
 * fix (bad input, a 4xx answer, a missing file).
 *
 * @example
 * ```ts
 * import { defineExecutor, ExecutorError } from '@taskwire/executor-sdk';
 *
 * export default defineExecutor({
 *   name: 'charge',
 *   description: 'Charges a card',
 *   async run({ params }) {
 *     const res = await fetch('https://pay.example/charge', { method: 'POST', body: JSON.stringify(params) });
 *     if (res.status === 402) throw ExecutorError.nonRetryable('card declined', { status: 402 });
 *     if (!res.ok) throw ExecutorError.retryable(`payment API answered ${res.status}`);
 *     return res.json();
 *   },
 * });
 * ```
 */
export class ExecutorError extends Error {
  override readonly name = 'ExecutorError';
  readonly retryable: boolean;
  readonly data: unknown;
  readonly code: string | undefined;

  constructor(message: string, options: ExecutorErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable;
    this.data = options.data;
    this.code = options.code;
  }

  /**
   * A failure another attempt may fix (a timeout upstream, a 503, a lost connection).
   *
   * @example
   * ```ts
   * throw ExecutorError.retryable('upstream answered 503', { status: 503 });
   * ```
   */
  static retryable(message: string, data?: unknown): ExecutorError {
    return new ExecutorError(message, { retryable: true, data });
  }

  /**
   * A failure no retry can fix: the task goes straight to FAILED.
   *
   * @example
   * ```ts
   * throw ExecutorError.nonRetryable('url must use http or https, got ftp:', { url });
   * ```
   */
  static nonRetryable(message: string, data?: unknown): ExecutorError {
    return new ExecutorError(message, { retryable: false, data });
  }

  /**
   * True for an ExecutorError, also one created by another copy of this package (plugins may bundle
   * their own), which `instanceof` would miss.
   *
   * @example
   * ```ts
   * if (ExecutorError.is(err) && !err.retryable) console.log('gave up:', err.message);
   * ```
   */
  static is(value: unknown): value is ExecutorError {
    return (
      value instanceof ExecutorError ||
      (value instanceof Error &&
        value.name === 'ExecutorError' &&
        typeof (value as { retryable?: unknown }).retryable === 'boolean')
    );
  }
}
