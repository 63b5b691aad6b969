// HTTP API response resources (wire JSON, snake_case): each one's JSON Schema, its type derived.
import { TASK_EVENT_TYPES, TASK_STATUSES, TASK_TRIGGERS } from './statuses.js';
import { errorObjectSchema } from './errors.js';
import { workflowSpecBody } from './workflow-spec.js';
import { wireErrorSchema } from './messages.js';
import {
  DateTime,
  DateTimeOrNull,
  Enum,
  Nullable,
  ObjectOrNull,
  Raw,
  StringOrNull,
  Type,
} from './shape-kit.js';
import type { Static, TSchema } from './shape-kit.js';

export const MISSED_FIRE_POLICIES = ['skip', 'run_once'] as const;
export type MissedFirePolicy = (typeof MISSED_FIRE_POLICIES)[number];
export const OVERLAP_POLICIES = ['allow', 'skip'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];
export const ATTEMPT_OUTCOMES = ['succeeded', 'failed', 'timed_out', 'canceled'] as const;

/** Resources are closed: a field the schema does not name is a bug the int tests catch. */
const closed = { additionalProperties: false } as const;

/** A task's error as the API renders it: the message's WireError, closed. */
export const taskErrorSchema = Type.Object(wireErrorSchema.properties, closed);

export const backoffSchema = Type.Object(
  {
    initial_ms: Type.Integer({ description: 'First retry delay in ms.' }),
    factor: Type.Number({ description: 'Multiplier applied per further attempt.' }),
    max_ms: Type.Integer({ description: 'Upper bound of one delay in ms.' }),
    jitter: Type.Number({
      description: '0–1: each delay is randomised by up to this fraction (full jitter at 1).',
    }),
  },
  closed,
);
export type BackoffPolicy = Static<typeof backoffSchema>;

export const templateSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: StringOrNull,
    executor: Type.String(),
    queue: Type.String(),
    param_schema: ObjectOrNull,
    result_schema: ObjectOrNull,
    default_params: ObjectOrNull,
    cron_expression: StringOrNull,
    cron_timezone: StringOrNull,
    enabled: Type.Boolean(),
    max_attempts: Type.Integer(),
    backoff: backoffSchema,
    timeout_ms: Type.Integer(),
    missed_fire_policy: Enum(MISSED_FIRE_POLICIES),
    overlap_policy: Enum(OVERLAP_POLICIES),
    workflow: Nullable(workflowSpecBody),
    retention_days: Raw<number | null>({
      type: ['integer', 'null'],
      description: "Days its finished tasks are kept (0: forever); null: the manager's RETENTION_DAYS.",
    }),
    priority: Type.Integer({ description: '0–9, higher first: the default priority of its tasks.' }),
    paused: Type.Boolean({
      description: 'Its tasks wait (WAITING) instead of running; cron still creates them.',
    }),
    concurrency_key: Raw<string | null>({
      type: ['string', 'null'],
      description: "JSON Pointer into a task's params whose value is the task's concurrency key.",
    }),
    concurrency_limit: Raw<number | null>({
      type: ['integer', 'null'],
      description: 'At most this many tasks with one key QUEUED or RUNNING in the queue (1 when null).',
    }),
    created_at: DateTime,
    updated_at: DateTime,
    next_fire_times: Type.Optional(
      Type.Array(DateTime, { description: 'Only on GET /templates/{id}: the next cron fire times (UTC).' }),
    ),
  },
  closed,
);
export type TemplateResource = Static<typeof templateSchema>;

export const taskSchema = Type.Object(
  {
    id: Type.String(),
    template_id: Type.String(),
    name: Type.String(),
    description: StringOrNull,
    queue: Type.String(),
    params: Type.Unknown(),
    status: Enum(TASK_STATUSES),
    result: Type.Unknown(),
    error: Nullable(taskErrorSchema),
    attempt: Type.Integer(),
    max_attempts: Type.Integer(),
    backoff: Nullable(backoffSchema),
    run_at: DateTimeOrNull,
    next_attempt_at: DateTimeOrNull,
    timeout_ms: Type.Integer(),
    idempotency_key: StringOrNull,
    trigger: Enum(TASK_TRIGGERS),
    scheduled_for: DateTimeOrNull,
    worker_id: StringOrNull,
    priority: Type.Integer({ description: '0–9, higher is admitted first.' }),
    concurrency_key: StringOrNull,
    created_at: DateTime,
    queued_at: DateTimeOrNull,
    started_at: DateTimeOrNull,
    finished_at: DateTimeOrNull,
    updated_at: DateTime,
    workflow_id: Type.Optional(StringOrNull),
    step_key: Type.Optional(StringOrNull),
  },
  closed,
);
export type TaskResource = Static<typeof taskSchema>;

export const taskEventSchema = Type.Object(
  {
    id: Type.Integer(),
    task_id: Type.String(),
    attempt: Type.Integer(),
    type: Enum(TASK_EVENT_TYPES),
    at: DateTime,
    worker_id: StringOrNull,
    data: Type.Unknown(),
  },
  closed,
);
export type TaskEventResource = Static<typeof taskEventSchema>;

/** One attempt of a task, summarised from its events (GET /tasks/{id}/events → attempts). */
export const attemptSchema = Type.Object(
  {
    attempt: Type.Integer(),
    worker_id: StringOrNull,
    queued_at: DateTimeOrNull,
    started_at: DateTimeOrNull,
    finished_at: DateTimeOrNull,
    duration_ms: Raw<number | null>({ type: ['integer', 'null'] }),
    outcome: Enum([...ATTEMPT_OUTCOMES, null]),
    error: Nullable(taskErrorSchema),
    executions: Type.Integer({
      description: 'Times a worker started this attempt (more than 1 after a redelivery).',
    }),
  },
  closed,
);
export type AttemptResource = Static<typeof attemptSchema>;

export const workerSchema = Type.Object(
  {
    id: Type.String(),
    host: Type.String(),
    pid: Type.Integer(),
    queues: Type.Array(Type.String()),
    executors: Type.Array(Type.String()),
    concurrency: Type.Integer(),
    running: Type.Integer(),
    version: Type.String(),
    started_at: DateTime,
    last_seen: DateTime,
    alive: Type.Boolean(),
  },
  closed,
);
export type WorkerResource = Static<typeof workerSchema>;

export const queueSchema = Type.Object(
  {
    name: Type.String(),
    waiting: Type.Integer({ description: 'Tasks WAITING for admission.' }),
    queued: Type.Integer(),
    running: Type.Integer(),
    max_in_flight: Raw<number | null>({
      type: ['integer', 'null'],
      description: 'QUEUED + RUNNING tasks allowed at once; null: unlimited.',
    }),
    paused: Type.Boolean(),
    lag: Raw<number | null>({
      type: ['integer', 'null'],
      description: "The workers' group lag on the queue's topic; null when Kafka is off or did not answer.",
    }),
  },
  closed,
);
export type QueueResource = Static<typeof queueSchema>;

const list = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item) }, closed);
export const templateListSchema = list(templateSchema);
export const workerListSchema = list(workerSchema);
export const queueListSchema = list(queueSchema);

export const taskPageSchema = Type.Object(
  {
    items: Type.Array(taskSchema),
    next_cursor: Raw<string | null>({
      type: ['string', 'null'],
      description: 'Pass as `cursor` for the next page; null at the end.',
    }),
  },
  closed,
);
/** A page of T: GET /tasks's shape for any item. */
export type Page<T> = Omit<Static<typeof taskPageSchema>, 'items'> & { items: T[] };

export const taskHistorySchema = Type.Object(
  { items: Type.Array(taskEventSchema), attempts: Type.Array(attemptSchema) },
  closed,
);
export type TaskHistory = Static<typeof taskHistorySchema>;

export const batchResultSchema = Type.Object(
  {
    results: Type.Array(
      Type.Object(
        {
          index: Type.Integer(),
          status: Type.Integer(),
          task: Type.Optional(taskSchema),
          error: Type.Optional(errorObjectSchema),
        },
        closed,
      ),
      { description: 'One per item, in order: 201 created, 200 existing (idempotency key), or an error.' },
    ),
  },
  closed,
);
export type BatchResult = Static<typeof batchResultSchema>;

/** GET /stats/overview: what the dashboard's first page shows, each figure from one indexed query. */
export const overviewSchema = Type.Object(
  {
    at: DateTime,
    counts: Type.Array(
      Type.Object({ queue: Type.String(), status: Enum(TASK_STATUSES), count: Type.Integer() }, closed),
      { description: 'Tasks by queue and status (only pairs with at least one task).' },
    ),
    per_minute: Type.Array(
      Type.Object({ minute: DateTime, completed: Type.Integer(), failed: Type.Integer() }, closed),
      { description: 'Tasks finished COMPLETED / FAILED in each of the last 60 minutes, oldest first.' },
    ),
    workers: Type.Object({ alive: Type.Integer(), dead: Type.Integer() }, closed),
    outbox_backlog: Type.Integer({ description: 'Outbox rows not yet published to Kafka.' }),
    consumer_lag: Raw<Array<{ queue: string; lag: number }> | null>({
      type: ['array', 'null'],
      items: {
        type: 'object',
        properties: { queue: { type: 'string' }, lag: { type: 'integer' } },
        required: ['queue', 'lag'],
        additionalProperties: false,
      },
      description:
        "The workers' group lag per queue (summed over partitions); null when Kafka is off or unreadable.",
    }),
  },
  closed,
);
export type Overview = Static<typeof overviewSchema>;

/** The dashboard's static files (GET /ui/...): HTML, JavaScript, CSS or SVG, not JSON. */
export const uiAssetSchema = Type.String({ description: 'An HTML page, ES module, stylesheet or image' });

/** GET /metrics: the Prometheus text exposition (format 0.0.4), not JSON. */
export const metricsTextSchema = Type.String({ description: 'Prometheus text format 0.0.4' });

export const statusSchema = Type.Object(
  { status: Enum(['ok', 'ready', 'refresh_requested'] as const) },
  closed,
);

export const openApiDocumentSchema = Type.Object({
  openapi: Raw<'3.1.0'>({ const: '3.1.0' }),
  info: Raw<Record<string, unknown>>({ type: 'object' }),
  paths: Raw<Record<string, unknown>>({ type: 'object' }),
});

/** One replay of a dead letter (POST /dlq/replay). */
export const dlqReplaySchema = Type.Object(
  {
    at: DateTime,
    by: StringOrNull,
    target_topic: Type.String(),
    edited: Type.Boolean({ description: 'An edited message was sent instead of the dead letter as it was.' }),
  },
  closed,
);

/** A message of a `<topic>.dlq` topic as indexed by the manager. */
export const deadLetterSchema = Type.Object(
  {
    topic: Type.String({ description: 'The DLQ topic.' }),
    partition: Type.Integer(),
    offset: Type.Integer(),
    time: DateTime,
    reason: StringOrNull,
    source_topic: StringOrNull,
    source_partition: Raw<number | null>({ type: ['integer', 'null'] }),
    source_offset: Raw<number | null>({ type: ['integer', 'null'] }),
    key: StringOrNull,
    headers: Raw<Record<string, string>>({ type: 'object', additionalProperties: { type: 'string' } }),
    message: Type.Unknown({ description: 'The message parsed as JSON; null when it is not JSON (see raw).' }),
    raw: Raw<string | null>({
      type: ['string', 'null'],
      description: 'The message as text when it is not JSON (or was cut, see truncated); else null.',
    }),
    size_bytes: Type.Integer({ description: 'The message value size as published.' }),
    truncated: Type.Boolean({
      description:
        'Only the first part of the message is here: its producer cut a copy too large for the DLQ (headers x-dlq-truncated and x-dlq-original-bytes; the whole original is at source_topic/source_partition/source_offset until retention), or only the first 1 MiB was indexed. A replay needs an edited message.',
    }),
    replays: Type.Array(dlqReplaySchema),
  },
  closed,
);
export type DeadLetterResource = Static<typeof deadLetterSchema>;

export const deadLetterPageSchema = Type.Object(
  { items: Type.Array(deadLetterSchema), next_cursor: taskPageSchema.properties.next_cursor },
  closed,
);

export const dlqReplayResultSchema = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          topic: Type.String(),
          partition: Type.Integer(),
          offset: Type.Integer(),
          target_topic: Type.String(),
          replayed_at: DateTime,
          edited: Type.Boolean(),
        },
        closed,
      ),
    ),
  },
  closed,
);
export type DlqReplayResult = Static<typeof dlqReplayResultSchema>;
