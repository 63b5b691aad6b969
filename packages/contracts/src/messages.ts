// Kafka message types (wire JSON, snake_case, "v": 1) and their JSON Schemas.
import type { TaskStatus } from './statuses.js';

export const MESSAGE_VERSION = 1 as const;

/** manager → workers, on the dispatch topic of the task's queue; keyed by task id. */
export interface DispatchMessage {
  v: 1;
  task_id: string;
  attempt: number;
  template_id: string;
  template_name: string;
  executor: string;
  queue: string;
  params: unknown;
  /** The template's param_schema, so a worker re-validates before running (null: none). */
  param_schema: Record<string, unknown> | null;
  timeout_ms: number;
  /** Epoch ms after which the worker aborts the executor. */
  deadline: number;
  /** Epoch ms when the manager queued this attempt. */
  queued_at: number;
}

export const RESULT_TYPES = [
  'started',
  'progress',
  'log',
  'succeeded',
  'failed',
  'timed_out',
  'canceled',
] as const;
export type ResultType = (typeof RESULT_TYPES)[number];

export interface WireError {
  message: string;
  code?: string;
  retryable: boolean;
  /** Executor errors may carry structured data (stack trimmed, exit code, HTTP status…). */
  data?: unknown;
}

/** workers → manager, keyed by task id. */
export interface ResultMessage {
  v: 1;
  type: ResultType;
  task_id: string;
  attempt: number;
  worker_id: string;
  /** Epoch ms at the worker. */
  at: number;
  /** progress: 0–100 */
  pct?: number;
  /** progress message or log line */
  message?: string;
  /** succeeded */
  result?: unknown;
  /** failed / timed_out / canceled */
  error?: WireError;
  /**
   * Terminal results only: epoch ms (worker) when the executor started, set when the worker sent
   * no `started` message for this run (the task finished before it went out); the manager then
   * records the start itself.
   */
  started_at?: number;
}

/** manager → every worker. */
export interface ControlMessage {
  v: 1;
  type: 'cancel';
  task_id: string;
  /** Attempt to cancel; absent: whichever is running. */
  attempt?: number;
  at: number;
}

/** workers → manager, every few seconds and on start/stop. */
export interface HeartbeatMessage {
  v: 1;
  worker_id: string;
  host: string;
  pid: number;
  queues: string[];
  executors: string[];
  concurrency: number;
  running: number;
  version: string;
  started_at: number;
  at: number;
  /** true in the last heartbeat of a worker that is shutting down. */
  stopping?: boolean;
}

const id = { type: 'string', minLength: 1, maxLength: 64 } as const;
/**
 * Latest epoch ms a message may carry: 9999-12-31T23:59:59.999Z. A parseable but absurd time
 * (`at: 1e17` is an Invalid Date) would otherwise fail only when the store writes it, and a
 * message that cannot be written would stall its partition.
 */
export const MAX_EPOCH_MS = 253_402_300_799_999;
const epochMs = { type: 'integer', minimum: 0, maximum: MAX_EPOCH_MS } as const;
const attempt = { type: 'integer', minimum: 1, maximum: 2_147_483_647 } as const;
/** Fits the store's INT columns. */
const int32 = { type: 'integer', minimum: 0, maximum: 2_147_483_647 } as const;
/** Fits the store's worker id columns (255 characters). */
const workerId = { type: 'string', minLength: 1, maxLength: 200 } as const;

const wireError = {
  type: 'object',
  required: ['message', 'retryable'],
  properties: {
    message: { type: 'string' },
    code: { type: 'string' },
    retryable: { type: 'boolean' },
    data: {},
  },
} as const;

export const dispatchMessageSchema = {
  $id: 'taskwire/dispatch.v1',
  type: 'object',
  required: [
    'v',
    'task_id',
    'attempt',
    'template_id',
    'template_name',
    'executor',
    'queue',
    'params',
    'param_schema',
    'timeout_ms',
    'deadline',
    'queued_at',
  ],
  properties: {
    v: { const: 1 },
    task_id: id,
    attempt,
    template_id: id,
    template_name: { type: 'string' },
    executor: { type: 'string', minLength: 1 },
    queue: { type: 'string', minLength: 1 },
    params: {},
    param_schema: { type: ['object', 'null'] },
    timeout_ms: { type: 'integer', minimum: 1 },
    deadline: epochMs,
    queued_at: epochMs,
  },
} as const;

export const resultMessageSchema = {
  $id: 'taskwire/result.v1',
  type: 'object',
  required: ['v', 'type', 'task_id', 'attempt', 'worker_id', 'at'],
  properties: {
    v: { const: 1 },
    type: { enum: [...RESULT_TYPES] },
    task_id: id,
    attempt,
    worker_id: workerId,
    at: epochMs,
    pct: { type: 'number', minimum: 0, maximum: 100 },
    message: { type: 'string' },
    result: {},
    error: wireError,
    started_at: epochMs,
  },
  allOf: [
    { if: { properties: { type: { const: 'progress' } } }, then: { required: ['pct'] } },
    { if: { properties: { type: { const: 'log' } } }, then: { required: ['message'] } },
    { if: { properties: { type: { const: 'failed' } } }, then: { required: ['error'] } },
    { if: { properties: { type: { const: 'timed_out' } } }, then: { required: ['error'] } },
  ],
} as const;

export const controlMessageSchema = {
  $id: 'taskwire/control.v1',
  type: 'object',
  required: ['v', 'type', 'task_id', 'at'],
  properties: {
    v: { const: 1 },
    type: { const: 'cancel' },
    task_id: id,
    attempt,
    at: epochMs,
  },
} as const;

export const heartbeatMessageSchema = {
  $id: 'taskwire/heartbeat.v1',
  type: 'object',
  required: [
    'v',
    'worker_id',
    'host',
    'pid',
    'queues',
    'executors',
    'concurrency',
    'running',
    'version',
    'started_at',
    'at',
  ],
  properties: {
    v: { const: 1 },
    worker_id: workerId,
    host: { type: 'string', maxLength: 255 },
    pid: int32,
    queues: { type: 'array', items: { type: 'string' } },
    executors: { type: 'array', items: { type: 'string' } },
    concurrency: { ...int32, minimum: 1 },
    running: int32,
    version: { type: 'string', maxLength: 64 },
    started_at: epochMs,
    at: epochMs,
    stopping: { type: 'boolean' },
  },
} as const;

/**
 * Headers of a dead letter on `<topic>.dlq`, written by the manager and the workers alike: why it
 * was dead-lettered and where it came from (its key and value are the original message's).
 */
export const DLQ_HEADERS = {
  reason: 'x-dlq-reason',
  topic: 'x-dlq-topic',
  partition: 'x-dlq-partition',
  offset: 'x-dlq-offset',
} as const;

// Message sizes against Kafka's limits, shared by the manager's relay and the worker's producer.
/** 900 KiB: under Kafka's default message.max.bytes (1 MiB), with room for batch and record overhead. */
export const DEFAULT_MAX_MESSAGE_BYTES = 900 * 1024;

/** Record and batch framing that a message adds to its key and value (a generous bound). */
const RECORD_OVERHEAD = 128;

/** Bytes one message takes in a produce request: its key and value as UTF-8 plus framing. */
export function messageBytes(key: string | Buffer | null, value: string | Buffer | null): number {
  const size = (v: string | Buffer | null): number =>
    v === null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;
  return size(key) + size(value) + RECORD_OVERHEAD;
}

const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/**
 * The kafkajs error type when `err` (or an error it wraps: kafkajs puts the protocol error in
 * `cause`, and several brokers' errors in `errors`) says a message or record batch is too large;
 * null otherwise.
 */
export function isTooLargeError(err: unknown): string | null {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const { type, cause, errors } = e as { type?: unknown; cause?: unknown; errors?: unknown };
    if (typeof type === 'string' && TOO_LARGE.has(type)) return type;
    queue.push(cause);
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return null;
}

/** The status a terminal result message moves a task to (before retry rules apply). */
export const RESULT_STATUS: Partial<Record<ResultType, TaskStatus>> = {
  started: 'RUNNING',
  succeeded: 'COMPLETED',
  failed: 'FAILED',
  timed_out: 'TIMED_OUT',
  canceled: 'CANCELED',
};
