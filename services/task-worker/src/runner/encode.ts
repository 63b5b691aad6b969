// Serialises result messages once, bounded in size; an unsendable result becomes a failure.
import type { ResultMessage, WireError } from '@taskwire/contracts';
import { DEFAULT_MAX_MESSAGE_BYTES } from '@taskwire/contracts';
import { ExecutorError } from '@taskwire/executor-sdk';

/** Kafka's default max.message.bytes is 1 MiB; stay below it with room for the batch overhead. */
export const RESULT_MESSAGE_LIMIT = DEFAULT_MAX_MESSAGE_BYTES;
export const LOG_LINE_LIMIT = 8 * 1024;
const STACK_LINES = 8;

/** What a result message may weigh: KAFKA_MAX_MESSAGE_BYTES for the whole, MAX_RESULT_BYTES for `result`. */
export interface ResultLimits {
  messageBytes: number;
  resultBytes: number;
}

export const DEFAULT_RESULT_LIMITS: ResultLimits = {
  messageBytes: RESULT_MESSAGE_LIMIT,
  resultBytes: 256 * 1024,
};

function byteLength(value: string, limit: number): number {
  // Cheap bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
  return value.length * 3 <= limit ? value.length : Buffer.byteLength(value);
}

/**
 * JSON for a result message. A result that is not JSON-serialisable, larger than MAX_RESULT_BYTES,
 * or a message too big for Kafka turns into a non-retryable `failed` saying so and naming the
 * limit (the same result would fail again).
 */
export function encodeResult(
  message: ResultMessage,
  limits: ResultLimits = DEFAULT_RESULT_LIMITS,
): { value: string; message: ResultMessage } {
  let problem: string;
  let code = 'message_too_large';
  try {
    const value = JSON.stringify(message);
    const size = byteLength(value, Math.min(limits.messageBytes, limits.resultBytes));
    // The result's JSON is part of the message's: a message within MAX_RESULT_BYTES needs no second
    // serialisation of its result to know that the result is within it too.
    const resultSize =
      message.result === undefined || size <= limits.resultBytes
        ? 0
        : byteLength(JSON.stringify(message.result), limits.resultBytes);
    if (resultSize > limits.resultBytes) {
      code = 'result_too_large';
      problem = `is ${resultSize} bytes of JSON, more than the ${limits.resultBytes} allowed (MAX_RESULT_BYTES)`;
    } else if (size > limits.messageBytes) {
      problem = `is ${size} bytes of JSON, more than the ${limits.messageBytes} allowed in one Kafka message (KAFKA_MAX_MESSAGE_BYTES)`;
    } else return { value, message };
  } catch (err) {
    code = 'result_unsendable';
    problem = `is not JSON-serialisable (${(err as Error).message})`;
  }
  const what = message.type === 'succeeded' ? 'result' : `${message.type} message`;
  const failed = failedInstead(message, {
    message: `the executor's ${what} ${problem}`,
    code,
    retryable: false,
  });
  return { value: JSON.stringify(failed), message: failed };
}

/** The non-retryable `failed` result sent in place of `message`, keeping its run's identity. */
export function failedInstead(message: ResultMessage, error: WireError): ResultMessage {
  const failed: ResultMessage = {
    v: 1,
    type: 'failed',
    task_id: message.task_id,
    attempt: message.attempt,
    worker_id: message.worker_id,
    at: message.at,
    error,
  };
  if (message.started_at !== undefined) failed.started_at = message.started_at;
  return failed;
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
