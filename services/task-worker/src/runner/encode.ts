// Serialises result messages once, bounded in size; an unsendable result becomes a failure.
import type { ResultMessage, WireError } from '@taskwire/contracts';
import { ExecutorError } from '@taskwire/executor-sdk';

/** Kafka's default max.message.bytes is 1 MiB; stay below it with room for the batch overhead. */
export const RESULT_MESSAGE_LIMIT = 900 * 1024;
export const LOG_LINE_LIMIT = 8 * 1024;
const STACK_LINES = 8;

function byteLength(value: string): number {
  // Cheap bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
  return value.length * 3 <= RESULT_MESSAGE_LIMIT ? value.length : Buffer.byteLength(value);
}

/**
 * JSON for a result message. A result that is not JSON-serialisable or too big for Kafka turns the
 * message into a non-retryable `failed` saying so (the same result would fail again).
 */
export function encodeResult(message: ResultMessage): { value: string; message: ResultMessage } {
  let value: string;
  let problem: string;
  try {
    value = JSON.stringify(message);
    const size = byteLength(value);
    if (size <= RESULT_MESSAGE_LIMIT) return { value, message };
    problem = `is ${size} bytes of JSON, more than the ${RESULT_MESSAGE_LIMIT} allowed`;
  } catch (err) {
    problem = `is not JSON-serialisable (${(err as Error).message})`;
  }
  const what = message.type === 'succeeded' ? 'result' : `${message.type} message`;
  const failed: ResultMessage = {
    v: 1,
    type: 'failed',
    task_id: message.task_id,
    attempt: message.attempt,
    worker_id: message.worker_id,
    at: message.at,
    error: { message: `the executor's ${what} ${problem}`, code: 'result_unsendable', retryable: false },
  };
  if (message.started_at !== undefined) failed.started_at = message.started_at;
  return { value: JSON.stringify(failed), message: failed };
}

export function truncate(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length - limit} more characters)`;
}

/** What the manager stores for a thrown value: ExecutorError keeps its say on retrying. */
export function toWireError(err: unknown): WireError {
  if (ExecutorError.is(err)) {
    const wire: WireError = { message: truncate(err.message, LOG_LINE_LIMIT), retryable: err.retryable };
    if (err.code !== undefined) wire.code = err.code;
    if (err.data !== undefined) wire.data = err.data;
    return wire;
  }
  if (err instanceof Error) {
    const stack = err.stack?.split('\n').slice(0, STACK_LINES).join('\n');
    return {
      message: truncate(err.message || err.name, LOG_LINE_LIMIT),
      retryable: true,
      data: { name: err.name, ...(stack ? { stack } : {}) },
    };
  }
  return { message: `executor threw a non-Error value: ${truncate(String(err), 1000)}`, retryable: true };
}
