// JSON Schemas of every request body: types, ranges and known fields (additionalProperties: false).
import { MISSED_FIRE_POLICIES, NAME_PATTERN, OVERLAP_POLICIES, TASK_STATUSES } from '@taskwire/contracts';

/** The largest POST /tasks/batch. */
export const MAX_BATCH_TASKS = 1000;

const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum }) as const;
const name = { type: 'string', pattern: NAME_PATTERN } as const;
/** A JSON object, or a JSON string of one (the Go service's form); null clears. */
const jsonObject = { type: ['object', 'string', 'null'] } as const;

const backoff = {
  type: 'object',
  additionalProperties: false,
  properties: {
    initial_ms: int(0, 86_400_000),
    factor: { type: 'number', minimum: 1, maximum: 10 },
    max_ms: int(0, 7 * 86_400_000),
    jitter: { type: 'number', minimum: 0, maximum: 1 },
  },
} as const;

const templateFields = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  description: { type: ['string', 'null'], maxLength: 10_000 },
  executor: name,
  executor_type: name,
  queue: name,
  param_schema: jsonObject,
  result_schema: jsonObject,
  default_params: jsonObject,
  cron_expression: { type: ['string', 'null'], maxLength: 200 },
  cron_timezone: { type: ['string', 'null'], maxLength: 100 },
  enabled: { type: 'boolean' },
  max_attempts: int(1, 100),
  backoff,
  timeout_ms: int(1, 86_400_000),
  missed_fire_policy: { enum: [...MISSED_FIRE_POLICIES] },
  overlap_policy: { enum: [...OVERLAP_POLICIES] },
} as const;

export const createTemplateSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: templateFields,
} as const;

/**
 * PUT takes any subset of the mutable fields. The read-only fields of a GET response are accepted
 * and ignored, so a client may PUT back what it read after editing it.
 */
export const updateTemplateSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    ...templateFields,
    id: { type: 'string' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    next_fire_times: { type: 'array' },
  },
} as const;

export const createTaskSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    task_template_id: { type: 'string', minLength: 1, maxLength: 64 },
    template_name: { type: 'string', minLength: 1, maxLength: 200 },
    params: jsonObject,
    name: { type: 'string', minLength: 1, maxLength: 200 },
    description: { type: ['string', 'null'], maxLength: 10_000 },
    run_at: { type: 'string', format: 'date-time' },
    idempotency_key: { type: 'string', minLength: 1, maxLength: 200 },
    max_attempts: int(1, 100),
    timeout_ms: int(1, 86_400_000),
    backoff,
  },
} as const;

export const batchSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['tasks'],
  properties: {
    // Items are checked one by one (createTaskSchema), so that one bad item fails alone.
    tasks: { type: 'array', maxItems: MAX_BATCH_TASKS },
  },
} as const;

export const updateTaskSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    status: { enum: [...TASK_STATUSES] },
    result: {},
    error: {
      type: ['string', 'object', 'null'],
      additionalProperties: false,
      required: ['message'],
      properties: {
        message: { type: 'string' },
        code: { type: 'string' },
        retryable: { type: 'boolean' },
        data: {},
      },
    },
  },
} as const;
