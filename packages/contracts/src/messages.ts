// Kafka messages (wire JSON, snake_case, "v": 1): each one's JSON Schema, and its type derived from it.
import type { TaskStatus } from './statuses.js';
import { Const, Enum, Raw, Type } from './shape-kit.js';
import type { Static } from './shape-kit.js';

export const MESSAGE_VERSION = 1 as const;

const id = Type.String({ minLength: 1, maxLength: 64 });
/**
 * Latest epoch ms a message may carry: 9999-12-31T23:59:59.999Z. A parseable but absurd time
 * (`at: 1e17` is an Invalid Date) would otherwise fail only when the store writes it, and a
 * message that cannot be written would stall its partition.
 */
export const MAX_EPOCH_MS = 253_402_300_799_999;
const epochMs = (description?: string) =>
  Type.Integer({ minimum: 0, maximum: MAX_EPOCH_MS, ...(description ? { description } : {}) });

/** Fits the store's INT columns. */
const INT32_MAX = 2_147_483_647;
const attemptOf = (description?: string) =>
  Type.Integer({ minimum: 1, maximum: INT32_MAX, ...(description ? { description } : {}) });
const attempt = attemptOf();
const int32 = Type.Integer({ minimum: 0, maximum: INT32_MAX });
/** Fits the store's worker id columns (255 characters). */
const workerId = Type.String({ minLength: 1, maxLength: 200 });
const v = Const(MESSAGE_VERSION);

/**
 * A param_schema's name on the wire: `sha256:` and the hex sha-256 of its canonical JSON (keys
 * sorted, no whitespace), so equal schemas share one name and a name never changes meaning.
 */
export const SCHEMA_REF_PREFIX = 'sha256:';
export const SCHEMA_REF_PATTERN = '^sha256:[0-9a-f]{64}$';

/**
 * manager → every worker, on the compacted schema topic; keyed by `hash`. The same key always
 * carries the same value, so compaction keeps every schema a dispatch may name.
 */
export const schemaMessageSchema = Type.Object(
  {
    v,
    hash: Type.String({
      pattern: SCHEMA_REF_PATTERN,
      description: 'sha256: and the hex sha-256 of the canonical JSON of param_schema; also the key.',
    }),
    param_schema: Raw<Record<string, unknown>>({
      type: 'object',
      description: "A template's param_schema (JSON Schema), as dispatches name it by hash.",
    }),
  },
  { $id: 'taskwire/schema.v1' },
);
export type SchemaMessage = Static<typeof schemaMessageSchema>;

/** manager → workers, on the dispatch topic of the task's queue; keyed by task id. */
export const dispatchMessageSchema = Type.Object(
  {
    v,
    task_id: id,
    attempt,
    template_id: id,
    template_name: Type.String(),
    executor: Type.String({ minLength: 1 }),
    queue: Type.String({ minLength: 1 }),
    params: Type.Unknown(),
    param_schema_ref: Type.Optional(
      Type.String({
        pattern: SCHEMA_REF_PATTERN,
        description:
          "The template's param_schema (as of queue time) by content hash: its schema message on the schema topic has this key. The worker re-validates params with it before running. Absent together with param_schema: the template has none.",
      }),
    ),
    param_schema: Type.Optional(
      Raw<Record<string, unknown> | null>({
        type: ['object', 'null'],
        description:
          "Older managers: the template's param_schema inline (null: none). Current managers send param_schema_ref instead; workers accept both.",
      }),
    ),
    timeout_ms: Type.Integer({ minimum: 1 }),
    deadline: epochMs('Epoch ms after which the worker aborts the executor.'),
    queued_at: epochMs('Epoch ms when the manager queued this attempt.'),
  },
  { $id: 'taskwire/dispatch.v1' },
);
export type DispatchMessage = Static<typeof dispatchMessageSchema>;

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

export const wireErrorSchema = Type.Object({
  message: Type.String(),
  code: Type.Optional(Type.String()),
  retryable: Type.Boolean(),
  data: Type.Optional(
    Type.Unknown({
      description: 'Executor errors may carry structured data (stack trimmed, exit code, HTTP status…).',
    }),
  ),
});
export type WireError = Static<typeof wireErrorSchema>;

/** workers → manager, keyed by task id. */
export const resultMessageSchema = Type.Object(
  {
    v,
    type: Enum(RESULT_TYPES),
    task_id: id,
    attempt,
    worker_id: workerId,
    at: epochMs('Epoch ms at the worker.'),
    pct: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'progress: 0–100' })),
    message: Type.Optional(Type.String({ description: 'progress message or log line' })),
    result: Type.Optional(Type.Unknown({ description: 'succeeded' })),
    error: Type.Optional(wireErrorSchema),
    started_at: Type.Optional(
      epochMs(
        'Terminal results only: epoch ms (worker) when the executor started, set when the worker sent no `started` message for this run (the task finished before it went out); the manager then records the start itself.',
      ),
    ),
  },
  {
    $id: 'taskwire/result.v1',
    allOf: [
      { if: { properties: { type: { const: 'progress' } } }, then: { required: ['pct'] } },
      { if: { properties: { type: { const: 'log' } } }, then: { required: ['message'] } },
      { if: { properties: { type: { const: 'failed' } } }, then: { required: ['error'] } },
      { if: { properties: { type: { const: 'timed_out' } } }, then: { required: ['error'] } },
    ],
  },
);
export type ResultMessage = Static<typeof resultMessageSchema>;

/** manager → every worker. */
export const controlMessageSchema = Type.Object(
  {
    v,
    type: Const('cancel'),
    task_id: id,
    attempt: Type.Optional(attemptOf('Attempt to cancel; absent: whichever is running.')),
    at: epochMs(),
  },
  { $id: 'taskwire/control.v1' },
);
export type ControlMessage = Static<typeof controlMessageSchema>;

/** workers → manager, every few seconds and on start/stop. */
export const heartbeatMessageSchema = Type.Object(
  {
    v,
    worker_id: workerId,
    host: Type.String({ maxLength: 255 }),
    pid: int32,
    queues: Type.Array(Type.String()),
    executors: Type.Array(Type.String()),
    concurrency: Type.Integer({ minimum: 1, maximum: INT32_MAX }),
    running: int32,
    version: Type.String({ maxLength: 64 }),
    started_at: epochMs(),
    at: epochMs(),
    stopping: Type.Optional(
      Type.Boolean({ description: 'true in the last heartbeat of a worker that is shutting down.' }),
    ),
  },
  { $id: 'taskwire/heartbeat.v1' },
);
export type HeartbeatMessage = Static<typeof heartbeatMessageSchema>;

/**
 * Headers of a dead letter on `<topic>.dlq`, written by the manager and the workers alike: why it
 * was dead-lettered and where it came from (its key and value are the original message's). A copy
 * too large for the DLQ is cut (cutDeadLetter) and also carries `truncated` ('true') and
 * `originalBytes` (the original value's size); the whole original stays at its source coordinates.
 */
export const DLQ_HEADERS = {
  reason: 'x-dlq-reason',
  topic: 'x-dlq-topic',
  partition: 'x-dlq-partition',
  offset: 'x-dlq-offset',
  truncated: 'x-dlq-truncated',
  originalBytes: 'x-dlq-original-bytes',
} as const;

// Message sizes against Kafka's limits, shared by the manager's relay and the worker's producer.
/** 900 KiB: under Kafka's default message.max.bytes (1 MiB), with room for batch and record overhead. */
export const DEFAULT_MAX_MESSAGE_BYTES = 900 * 1024;

/** Record and batch framing that a message adds to its key and value (a generous bound). */
const RECORD_OVERHEAD = 128;

/** Record headers as kafkajs takes and gives them (IHeaders), without importing kafkajs. */
export type MessageHeaders = Record<string, string | Buffer | (string | Buffer)[] | undefined>;

/** Bytes a record adds per header besides its name and value (their varint lengths, generously). */
const HEADER_OVERHEAD = 10;

const byteSize = (v: string | Buffer | null | undefined): number =>
  v == null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;

/**
 * Bytes one message takes in a produce request: its key, value and headers (names and values) as
 * UTF-8 plus framing.
 */
export function messageBytes(
  key: string | Buffer | null,
  value: string | Buffer | null,
  headers?: MessageHeaders,
): number {
  let bytes = byteSize(key) + byteSize(value) + RECORD_OVERHEAD;
  if (headers !== undefined)
    for (const [name, v] of Object.entries(headers)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v])
        bytes += Buffer.byteLength(name) + byteSize(one) + HEADER_OVERHEAD;
    }
  return bytes;
}

/** A dead letter as produced to `<topic>.dlq`. */
export interface DeadLetterMessage {
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers: MessageHeaders;
}

/**
 * The cut-down copy of a dead letter too large for the DLQ: the same key and DLQ headers, plus
 * DLQ_HEADERS.truncated and .originalBytes, and the first bytes of its value (cut at a UTF-8
 * character boundary) such that the message takes at most `maxBytes` (messageBytes). The original's
 * other headers are kept when they leave room for some of the value, dropped otherwise. Null when
 * not even the key and the DLQ headers fit. Replaying a cut copy would send garbage: the manager
 * refuses to (the whole original stays in its source topic at the coordinates the headers give).
 */
export function cutDeadLetter(letter: DeadLetterMessage, maxBytes: number): DeadLetterMessage | null {
  const value =
    letter.value === null
      ? Buffer.alloc(0)
      : typeof letter.value === 'string'
        ? Buffer.from(letter.value)
        : letter.value;
  const marker = { [DLQ_HEADERS.truncated]: 'true', [DLQ_HEADERS.originalBytes]: String(value.length) };
  const dlqOnly: MessageHeaders = {};
  for (const name of Object.values(DLQ_HEADERS)) {
    const v = letter.headers[name];
    if (v !== undefined) dlqOnly[name] = v;
  }
  let headers: MessageHeaders = { ...letter.headers, ...marker };
  // At least a tenth of the allowance for the value, or the original's own headers go.
  if (maxBytes - messageBytes(letter.key, null, headers) < maxBytes / 10) headers = { ...dlqOnly, ...marker };
  const room = maxBytes - messageBytes(letter.key, null, headers);
  if (room < 0) return null;
  let cut = Math.min(room, value.length);
  // Not in the middle of a UTF-8 sequence: back off continuation bytes (10xxxxxx).
  while (cut > 0 && cut < value.length && (value[cut]! & 0xc0) === 0x80) cut--;
  return { key: letter.key, value: value.subarray(0, cut), headers };
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
