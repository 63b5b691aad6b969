// HTTP API request bodies and query: types, ranges and known fields (additionalProperties: false).
import { TASK_EVENT_TYPES, TASK_STATUSES } from './statuses.js';
import { NAME_PATTERN } from './topics.js';
import { MISSED_FIRE_POLICIES, OVERLAP_POLICIES } from './api.js';
import { Enum, Raw, Type } from './shape-kit.js';
import { workflowSpecBody } from './workflow-spec.js';
import type { Static } from './shape-kit.js';

/** The largest POST /tasks/batch. */
export const MAX_BATCH_TASKS = 1000;
/** GET /tasks page size: default and maximum. */
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

const closed = { additionalProperties: false } as const;
const int = (minimum: number, maximum: number) => Type.Integer({ minimum, maximum });
const name = Type.String({ pattern: NAME_PATTERN });
/** A JSON object, or a JSON string of one (the Go service's form); null clears. */
const jsonObject = Raw<Record<string, unknown> | string | null>({ type: ['object', 'string', 'null'] });
const text = (maxLength: number) => Raw<string | null>({ type: ['string', 'null'], maxLength });

const backoff = Type.Object(
  {
    initial_ms: Type.Optional(int(0, 86_400_000)),
    factor: Type.Optional(Type.Number({ minimum: 1, maximum: 10 })),
    max_ms: Type.Optional(int(0, 7 * 86_400_000)),
    jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  closed,
);

const templateFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(text(10_000)),
  executor: Type.Optional(name),
  executor_type: Type.Optional(name),
  queue: Type.Optional(name),
  param_schema: Type.Optional(jsonObject),
  result_schema: Type.Optional(jsonObject),
  default_params: Type.Optional(jsonObject),
  cron_expression: Type.Optional(text(200)),
  cron_timezone: Type.Optional(text(100)),
  enabled: Type.Optional(Type.Boolean()),
  max_attempts: Type.Optional(int(1, 100)),
  backoff: Type.Optional(backoff),
  timeout_ms: Type.Optional(int(1, 86_400_000)),
  missed_fire_policy: Type.Optional(Enum(MISSED_FIRE_POLICIES)),
  overlap_policy: Type.Optional(Enum(OVERLAP_POLICIES)),
  workflow: Type.Optional(
    Raw<Static<typeof workflowSpecBody> | null>({
      anyOf: [workflowSpecBody, { type: 'null' }],
      description: 'A workflow template: its steps and on_failure, instead of an executor',
    }),
  ),
  /** 0 keeps the template's finished tasks forever; null falls back to RETENTION_DAYS. */
  retention_days: Type.Optional(
    Raw<number | null>({
      type: ['integer', 'null'],
      minimum: 0,
      maximum: 36_500,
      description: "Days finished tasks are kept (0: forever); null: the manager's RETENTION_DAYS",
    }),
  ),
  priority: Type.Optional(int(0, 9)),
  paused: Type.Optional(Type.Boolean()),
  concurrency_key: Type.Optional(text(255)),
  concurrency_limit: Type.Optional(
    Raw<number | null>({ type: ['integer', 'null'], minimum: 1, maximum: 100_000 }),
  ),
};

export const createTemplateBody = Type.Object(templateFields, closed);
export type CreateTemplateBody = Static<typeof createTemplateBody>;

/**
 * PUT takes any subset of the mutable fields. The read-only fields of a GET response are accepted
 * and ignored, so a client may PUT back what it read after editing it.
 */
export const updateTemplateBody = Type.Object(
  {
    ...templateFields,
    name: Type.Optional(templateFields.name),
    id: Type.Optional(Type.String()),
    created_at: Type.Optional(Type.String()),
    updated_at: Type.Optional(Type.String()),
    next_fire_times: Type.Optional(Type.Array(Type.Unknown())),
  },
  { ...closed, minProperties: 1 },
);
export type UpdateTemplateBody = Static<typeof updateTemplateBody>;

export const createTaskBody = Type.Object(
  {
    task_template_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    template_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    params: Type.Optional(jsonObject),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(text(10_000)),
    run_at: Type.Optional(Type.String({ format: 'date-time' })),
    idempotency_key: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    max_attempts: Type.Optional(int(1, 100)),
    timeout_ms: Type.Optional(int(1, 86_400_000)),
    backoff: Type.Optional(backoff),
    priority: Type.Optional(int(0, 9)),
    concurrency_key: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  },
  closed,
);
export type CreateTaskBody = Static<typeof createTaskBody>;

/**
 * Items are checked one by one against createTaskBody, so that one bad item fails alone: the
 * route validates with `items: {}` (batchEnvelope), the document shows the item schema.
 */
export const createTaskBatchBody = Type.Object(
  { tasks: Type.Array(createTaskBody, { maxItems: MAX_BATCH_TASKS }) },
  closed,
);
export type CreateTaskBatchBody = Static<typeof createTaskBatchBody>;
/** What POST /tasks/batch checks before looking at the items one by one. */
export const batchEnvelope = Type.Object(
  { tasks: Type.Array(Type.Unknown(), { maxItems: MAX_BATCH_TASKS }) },
  closed,
);

export const updateTaskBody = Type.Object(
  {
    status: Type.Optional(Enum(TASK_STATUSES)),
    result: Type.Optional(Type.Unknown()),
    error: Type.Optional(
      Raw<string | { message: string; code?: string; retryable?: boolean; data?: unknown } | null>({
        type: ['string', 'object', 'null'],
        additionalProperties: false,
        required: ['message'],
        properties: {
          message: { type: 'string' },
          code: { type: 'string' },
          retryable: { type: 'boolean' },
          data: {},
        },
      }),
    ),
  },
  { ...closed, minProperties: 1 },
);
export type UpdateTaskBody = Static<typeof updateTaskBody>;

/** GET /tasks query: checked by the route (400 naming the parameter), documented from here. */
export const listTasksQuery = Type.Object({
  status: Type.Optional(
    Type.String({
      examples: ['QUEUED,RUNNING'],
      description: `Comma-separated: ${TASK_STATUSES.join(', ')}`,
    }),
  ),
  template_id: Type.Optional(Type.String({ description: 'Only tasks of this template' })),
  queue: Type.Optional(Type.String({ description: 'Only tasks of this queue' })),
  created_from: Type.Optional(
    Type.String({ description: 'ISO 8601 date or date-time: created at or after' }),
  ),
  created_to: Type.Optional(Type.String({ description: 'ISO 8601 date or date-time: created at or before' })),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: 'Page size' }),
  ),
  cursor: Type.Optional(Type.String({ description: 'next_cursor of the previous page' })),
});
export type ListTasksQuery = Static<typeof listTasksQuery>;

const commaList = (what: string) =>
  Type.Optional(Type.String({ description: `Comma-separated: only events of these ${what}` }));
const lastEventIdParam = Type.Optional(
  Type.String({
    description: 'Resume after this event id (as the Last-Event-ID header, which wins when both are given)',
  }),
);

/** GET /events/stream: comma lists, each matching any of its values; absent matches everything. */
export const eventStreamQuery = Type.Object({
  task_id: commaList('tasks'),
  template_id: commaList("tasks' templates"),
  queue: commaList("tasks' queues"),
  type: Type.Optional(
    Type.String({
      examples: ['succeeded,failed'],
      description: `Comma-separated: ${TASK_EVENT_TYPES.join(', ')}`,
    }),
  ),
  last_event_id: lastEventIdParam,
});

/** GET /tasks/{id}/events/stream: the task is the path's. */
export const taskEventStreamQuery = Type.Object({
  type: eventStreamQuery.properties.type,
  last_event_id: lastEventIdParam,
});

/** The body of a text/event-stream response, documented as a string. */
export const eventStreamSchema = Type.String({
  description:
    'Server-Sent Events: `id:` the event id, `event:` its type, `data:` the event as in GET /tasks/{id}/events; `: keep-alive` comments',
});

/** GET /dlq: filters and paging (newest first). */
export const listDeadLettersQuery = Type.Object({
  topic: Type.Optional(Type.String({ description: 'Only this DLQ topic (`<topic>.dlq`)' })),
  source_topic: Type.Optional(Type.String({ description: 'Only dead letters of this source topic' })),
  reason: Type.Optional(Type.String({ description: 'Only those whose reason contains this text' })),
  limit: listTasksQuery.properties.limit,
  cursor: listTasksQuery.properties.cursor,
});

/** The largest POST /dlq/replay list. */
export const MAX_REPLAY_ITEMS = 500;

const replayItem = {
  topic: Type.String({ minLength: 1, maxLength: 255, description: 'The DLQ topic' }),
  partition: int(0, 1_000_000),
  offset: Type.Integer({ minimum: 0 }),
  message: Type.Optional(
    Raw<Record<string, unknown>>({
      type: 'object',
      description:
        "An edited message to send instead of the dead letter's; checked against the source topic's message schema",
    }),
  ),
};
const replayBy = Type.Optional(
  Type.String({
    minLength: 1,
    maxLength: 200,
    description: 'Who replays, recorded as given (not authenticated)',
  }),
);

/** POST /dlq/replay with one dead letter. */
export const replayDeadLetterBody = Type.Object({ ...replayItem, by: replayBy }, closed);
/** POST /dlq/replay with a list: all replayed in one transaction, or none. */
export const replayDeadLetterListBody = Type.Object(
  {
    items: Type.Array(Type.Object(replayItem, closed), { minItems: 1, maxItems: MAX_REPLAY_ITEMS }),
    by: replayBy,
  },
  closed,
);
/** The documented body: either form (the route checks the one `items` selects, for clear errors). */
export const replayDeadLettersBody = Type.Union([replayDeadLetterBody, replayDeadLetterListBody]);
export type ReplayDeadLetterBody = Static<typeof replayDeadLetterBody>;
export type ReplayDeadLetterListBody = Static<typeof replayDeadLetterListBody>;
/** PUT /queues/{queue}: the queue's limit of tasks QUEUED + RUNNING at once; null removes it. */
export const updateQueueBody = Type.Object(
  {
    max_in_flight: Raw<number | null>({ type: ['integer', 'null'], minimum: 1, maximum: 1_000_000 }),
  },
  closed,
);
export type UpdateQueueBody = Static<typeof updateQueueBody>;
