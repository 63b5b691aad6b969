// The OpenAPI 3.1 document of the HTTP API, served at GET /openapi.json and kept in step by tests.
import {
  ERROR_CODES,
  ERROR_STATUS,
  MISSED_FIRE_POLICIES,
  OVERLAP_POLICIES,
  TASK_EVENT_TYPES,
  TASK_STATUSES,
  TASK_TRIGGERS,
} from '@taskwire/contracts';
import type {
  AttemptResource,
  BackoffPolicy,
  ErrorCode,
  TaskEventResource,
  TaskResource,
  TemplateResource,
  WireError,
  WorkerResource,
} from '@taskwire/contracts';
import {
  MAX_BATCH_TASKS,
  batchSchema,
  createTaskSchema,
  createTemplateSchema,
  updateTaskSchema,
  updateTemplateSchema,
} from './request-schemas.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from './tasks.js';
import { PRIVILEGED_EXECUTORS, routeRule } from './auth-routes.js';

type Schema = Record<string, unknown>;
type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

/** GET /tasks paging; tasks.ts enforces the same numbers (the int test checks the maximum). */

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (schema: Schema): Schema => ({ anyOf: [schema, { type: 'null' }] });
const json = (schema: Schema) => ({ 'application/json': { schema } });
const str: Schema = { type: 'string' };
const strOrNull: Schema = { type: ['string', 'null'] };
const time: Schema = { type: 'string', format: 'date-time' };
const timeOrNull: Schema = { type: ['string', 'null'], format: 'date-time' };
const int: Schema = { type: 'integer' };
const objOrNull: Schema = { type: ['object', 'null'] };
const any: Schema = {};

/**
 * An object schema with exactly the fields of the contracts type T: the compiler rejects a missing
 * or an extra field, so the document cannot drift from the wire types. `optional` fields may be absent.
 */
function resource<T>(
  properties: { [K in keyof T]-?: Schema },
  optional: ReadonlyArray<keyof T> = [],
): Schema {
  const names = Object.keys(properties);
  return {
    type: 'object',
    additionalProperties: false,
    required: names.filter((n) => !optional.includes(n as keyof T)),
    properties,
  };
}

/** Every outcome an attempt can have; a Record so that a new outcome in contracts fails to compile here. */
const OUTCOMES: Record<NonNullable<AttemptResource['outcome']>, true> = {
  succeeded: true,
  failed: true,
  timed_out: true,
  canceled: true,
};

const backoff = resource<BackoffPolicy>({
  initial_ms: int,
  factor: { type: 'number' },
  max_ms: int,
  jitter: { type: 'number' },
});

const schemas: Record<string, Schema> = {
  // Request bodies: the very schemas the routes validate with (request-schemas.ts).
  CreateTemplate: createTemplateSchema,
  UpdateTemplate: updateTemplateSchema,
  CreateTask: createTaskSchema,
  // Items are checked one by one against CreateTask, each failing alone; the document says so.
  CreateTaskBatch: {
    ...batchSchema,
    properties: { tasks: { ...batchSchema.properties.tasks, items: ref('CreateTask') } },
  },
  UpdateTask: updateTaskSchema,

  Backoff: backoff,
  Template: resource<TemplateResource>(
    {
      id: str,
      name: str,
      description: strOrNull,
      executor: str,
      queue: str,
      param_schema: objOrNull,
      result_schema: objOrNull,
      default_params: objOrNull,
      cron_expression: strOrNull,
      cron_timezone: strOrNull,
      enabled: { type: 'boolean' },
      max_attempts: int,
      backoff: ref('Backoff'),
      timeout_ms: int,
      missed_fire_policy: { enum: [...MISSED_FIRE_POLICIES] },
      overlap_policy: { enum: [...OVERLAP_POLICIES] },
      created_at: time,
      updated_at: time,
      next_fire_times: { type: 'array', items: time, description: 'Only on GET /templates/{id}.' },
    },
    ['next_fire_times'],
  ),
  TaskError: resource<WireError>({ message: str, code: str, retryable: { type: 'boolean' }, data: any }, [
    'code',
    'data',
  ]),
  Task: resource<TaskResource>({
    id: str,
    template_id: str,
    name: str,
    description: strOrNull,
    queue: str,
    params: any,
    status: { enum: [...TASK_STATUSES] },
    result: any,
    error: nullable(ref('TaskError')),
    attempt: int,
    max_attempts: int,
    backoff: nullable(ref('Backoff')),
    run_at: timeOrNull,
    next_attempt_at: timeOrNull,
    timeout_ms: int,
    idempotency_key: strOrNull,
    trigger: { enum: [...TASK_TRIGGERS] },
    scheduled_for: timeOrNull,
    worker_id: strOrNull,
    created_at: time,
    queued_at: timeOrNull,
    started_at: timeOrNull,
    finished_at: timeOrNull,
    updated_at: time,
  }),
  TaskEvent: resource<TaskEventResource>({
    id: int,
    task_id: str,
    attempt: int,
    type: { enum: [...TASK_EVENT_TYPES] },
    at: time,
    worker_id: strOrNull,
    data: any,
  }),
  Attempt: resource<AttemptResource>({
    attempt: int,
    worker_id: strOrNull,
    queued_at: timeOrNull,
    started_at: timeOrNull,
    finished_at: timeOrNull,
    duration_ms: { type: ['integer', 'null'] },
    outcome: { enum: [...Object.keys(OUTCOMES), null] },
    error: nullable(ref('TaskError')),
    executions: int,
  }),
  Worker: resource<WorkerResource>({
    id: str,
    host: str,
    pid: int,
    queues: { type: 'array', items: str },
    executors: { type: 'array', items: str },
    concurrency: int,
    running: int,
    version: str,
    started_at: time,
    last_seen: time,
    alive: { type: 'boolean' },
  }),
  TemplateList: list('Template'),
  WorkerList: list('Worker'),
  TaskPage: {
    ...list('Task'),
    required: ['items', 'next_cursor'],
    properties: {
      items: { type: 'array', items: ref('Task') },
      next_cursor: { ...strOrNull, description: 'Pass as `cursor` for the next page; null at the end.' },
    },
  },
  TaskHistory: {
    type: 'object',
    additionalProperties: false,
    required: ['items', 'attempts'],
    properties: {
      items: { type: 'array', items: ref('TaskEvent') },
      attempts: { type: 'array', items: ref('Attempt') },
    },
  },
  BatchResult: {
    type: 'object',
    additionalProperties: false,
    required: ['results'],
    properties: {
      results: {
        type: 'array',
        description: 'One per item, in order: 201 created, 200 existing (idempotency key), or an error.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['index', 'status'],
          properties: { index: int, status: int, task: ref('Task'), error: ref('ErrorObject') },
        },
      },
    },
  },
  OpenApiDocument: {
    type: 'object',
    required: ['openapi', 'info', 'paths'],
    properties: { openapi: { const: '3.1.0' }, info: { type: 'object' }, paths: { type: 'object' } },
  },
  Status: {
    type: 'object',
    additionalProperties: false,
    required: ['status'],
    properties: { status: { enum: ['ok', 'ready', 'refresh_requested'] } },
  },
  ErrorDetail: {
    type: 'object',
    required: ['path', 'message'],
    properties: { path: str, message: str, keyword: str, params: { type: 'object' } },
  },
  ErrorObject: {
    type: 'object',
    additionalProperties: false,
    required: ['code', 'message', 'details'],
    properties: {
      code: { enum: [...ERROR_CODES] },
      message: str,
      details: { anyOf: [{ type: 'array', items: ref('ErrorDetail') }, objOrNull] },
    },
  },
  Error: {
    type: 'object',
    additionalProperties: false,
    required: ['error'],
    properties: { error: ref('ErrorObject') },
  },
};

function list(item: string): Schema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['items'],
    properties: { items: { type: 'array', items: ref(item) } },
  };
}

/** One shared response per error status; a Record so a new status in ERROR_STATUS must be named here. */
const ERROR_RESPONSES: Record<ErrorStatus, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  422: 'ValidationFailed',
  500: 'InternalError',
  503: 'Unavailable',
};

function errorResponses(): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (const [status, name] of Object.entries(ERROR_RESPONSES)) {
    const codes = ERROR_CODES.filter((c) => String(ERROR_STATUS[c]) === status);
    out[name] = { description: `Error: ${codes.join(' or ')}.`, content: json(ref('Error')) };
    if (status === '503') {
      out[name]!.headers = {
        'Retry-After': {
          description: 'Seconds to wait before retrying (also in error.details.retry_after_s).',
          schema: { type: 'integer', minimum: 1 },
        },
      };
    }
  }
  out.Unauthorized!.headers = {
    'WWW-Authenticate': { description: 'Bearer challenge (RFC 6750)', schema: str },
  };
  return out;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/**
 * Adds each operation's `security` and its 401/403 from the route table of the auth middleware
 * (auth-routes.ts), so the document states exactly what the middleware enforces. The scope an
 * operation needs is named as the role in its bearer requirement (OpenAPI 3.1 allows roles there).
 */
function withSecurity(paths: Record<string, Schema>): Record<string, Schema> {
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const op = item[method] as Schema | undefined;
      if (op === undefined) continue;
      const rule = routeRule(method.toUpperCase(), path.replace(/\{(\w+)\}/g, ':$1'));
      if (rule.access === 'public') {
        op.security = [];
        continue;
      }
      op.security = [{ bearer: [rule.access] }];
      const responses = op.responses as Record<string, Schema>;
      responses['401'] = { $ref: '#/components/responses/Unauthorized' };
      // Every valid token holds read, so only routes needing more can answer 403.
      if (rule.access !== 'read' || rule.executorRule)
        responses['403'] = { $ref: '#/components/responses/Forbidden' };
      if (rule.executorRule)
        op.description = `A template whose executor is ${PRIVILEGED_EXECUTORS.map((e) => `\`${e}\``).join(' or ')} needs scope \`admin\` (403 for a \`write\` token).`;
    }
  }
  return paths;
}

interface Operation {
  id: string;
  tag: 'templates' | 'tasks' | 'system';
  summary: string;
  /** Name of the request body schema; adds 400 (bad_request, invalid_json) and 413. */
  body?: string;
  query?: Schema[];
  /** Success responses: status → [description, schema name or null for no content]. */
  ok: Record<number, [string, string | null]>;
  /** Error statuses besides 500 (every route) and those `body` adds. */
  errors?: ErrorStatus[];
}

function operation(o: Operation): Schema {
  const responses: Record<string, Schema> = {};
  for (const [status, [description, schema]] of Object.entries(o.ok)) {
    responses[status] = schema === null ? { description } : { description, content: json(ref(schema)) };
  }
  // Every route that touches the database may answer 503 (unreachable, busy, saturated).
  const database = !['getHealth', 'getOpenApi', 'refreshScheduler'].includes(o.id);
  const errors = new Set<ErrorStatus>([
    ...(o.body ? ([400, 413] as const) : []),
    ...(o.errors ?? []),
    ...(database ? ([503] as const) : []),
    500,
  ]);
  for (const status of [...errors].sort((a, b) => a - b)) {
    responses[status] = { $ref: `#/components/responses/${ERROR_RESPONSES[status]}` };
  }
  return {
    operationId: o.id,
    tags: [o.tag],
    summary: o.summary,
    ...(o.query ? { parameters: o.query } : {}),
    ...(o.body ? { requestBody: { required: true, content: json(ref(o.body)) } } : {}),
    responses,
  };
}

const query = (name: string, schema: Schema, description: string): Schema => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});

const idParam = { $ref: '#/components/parameters/Id' };

function build(): Schema {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Taskwire task-manager',
      version: '1.0.0',
      description:
        'Task templates, tasks, their history and the workers. JSON with snake_case fields; every error is `{"error": {code, message, details}}`.',
    },
    tags: [{ name: 'templates' }, { name: 'tasks' }, { name: 'system' }],
    paths: withSecurity({
      '/templates': {
        post: operation({
          id: 'createTemplate',
          tag: 'templates',
          summary: 'Create a template (409 on a duplicate name; 422 when default_params break param_schema)',
          body: 'CreateTemplate',
          ok: { 201: ['The template', 'Template'] },
          errors: [409, 422],
        }),
        get: operation({
          id: 'listTemplates',
          tag: 'templates',
          summary: 'Every template that is not deleted',
          ok: { 200: ['The templates', 'TemplateList'] },
        }),
      },
      '/templates/{id}': {
        parameters: [idParam],
        get: operation({
          id: 'getTemplate',
          tag: 'templates',
          summary: 'One template, with next_fire_times',
          ok: { 200: ['The template', 'Template'] },
          errors: [404],
        }),
        put: operation({
          id: 'updateTemplate',
          tag: 'templates',
          summary: 'Partial update (read-only fields of a GET response are accepted and ignored)',
          body: 'UpdateTemplate',
          ok: { 200: ['The updated template', 'Template'] },
          errors: [404, 409, 422],
        }),
        delete: operation({
          id: 'deleteTemplate',
          tag: 'templates',
          summary: 'Soft delete: the template takes no new tasks; its tasks and history stay',
          ok: { 204: ['Deleted', null] },
          errors: [404],
        }),
      },
      '/tasks': {
        post: operation({
          id: 'createTask',
          tag: 'tasks',
          summary: 'Create a task by task_template_id or template_name; params checked against param_schema',
          body: 'CreateTask',
          ok: {
            201: ['The new task', 'Task'],
            200: ['The task created earlier with the same idempotency_key', 'Task'],
          },
          errors: [404, 422],
        }),
        get: operation({
          id: 'listTasks',
          tag: 'tasks',
          summary: 'Tasks, newest first, filtered and paged',
          query: [
            query(
              'status',
              { type: 'string', examples: ['QUEUED,RUNNING'] },
              `Comma-separated: ${TASK_STATUSES.join(', ')}`,
            ),
            query('template_id', str, 'Only tasks of this template'),
            query('created_from', str, 'ISO 8601 date or date-time: created at or after'),
            query('created_to', str, 'ISO 8601 date or date-time: created at or before'),
            query(
              'limit',
              { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
              'Page size',
            ),
            query('cursor', str, 'next_cursor of the previous page'),
          ],
          ok: { 200: ['A page of tasks', 'TaskPage'] },
          errors: [400],
        }),
      },
      '/tasks/batch': {
        post: operation({
          id: 'createTasks',
          tag: 'tasks',
          summary: `Up to ${MAX_BATCH_TASKS} tasks in one transaction; valid items are created even when others fail`,
          body: 'CreateTaskBatch',
          ok: {
            200: ['Every item created (or found)', 'BatchResult'],
            207: ['Some items failed', 'BatchResult'],
          },
        }),
      },
      '/tasks/{id}': {
        parameters: [idParam],
        get: operation({
          id: 'getTask',
          tag: 'tasks',
          summary: 'One task',
          ok: { 200: ['The task', 'Task'] },
          errors: [404],
        }),
        put: operation({
          id: 'updateTask',
          tag: 'tasks',
          summary:
            'Trusted callers set status/result/error; lifecycle enforced, result checked against result_schema',
          body: 'UpdateTask',
          ok: { 200: ['The updated task', 'Task'] },
          errors: [404, 409, 422],
        }),
      },
      '/tasks/{id}/events': {
        parameters: [idParam],
        get: operation({
          id: 'getTaskEvents',
          tag: 'tasks',
          summary: 'The history of a task: every event, and each attempt summarised',
          ok: { 200: ['Events and attempts', 'TaskHistory'] },
          errors: [404],
        }),
      },
      '/tasks/{id}/cancel': {
        parameters: [idParam],
        post: operation({
          id: 'cancelTask',
          tag: 'tasks',
          summary:
            'PENDING/QUEUED/RETRYING → CANCELED; RUNNING → cancel requested from its worker; finished → 409',
          ok: { 200: ['The task (CANCELED, or RUNNING with a cancel requested)', 'Task'] },
          errors: [404, 409],
        }),
      },
      '/tasks/{id}/retry': {
        parameters: [idParam],
        post: operation({
          id: 'retryTask',
          tag: 'tasks',
          summary: 'FAILED/TIMED_OUT/CANCELED → a new attempt, QUEUED',
          ok: { 200: ['The task, QUEUED', 'Task'] },
          errors: [404, 409],
        }),
      },
      '/workers': {
        get: operation({
          id: 'listWorkers',
          tag: 'system',
          summary: 'Every worker seen, with alive computed from its last heartbeat',
          ok: { 200: ['The workers', 'WorkerList'] },
        }),
      },
      '/healthz': {
        get: operation({
          id: 'getHealth',
          tag: 'system',
          summary: 'Liveness',
          ok: { 200: ['Up', 'Status'] },
        }),
      },
      '/readyz': {
        get: operation({
          id: 'getReadiness',
          tag: 'system',
          summary: 'Readiness: the database answers and is migrated',
          ok: { 200: ['Ready', 'Status'] },
          errors: [503],
        }),
      },
      '/admin/scheduler/refresh': {
        post: operation({
          id: 'refreshScheduler',
          tag: 'system',
          summary: 'Re-read every template (changes through the API already apply at once)',
          ok: { 202: ['Refresh requested', 'Status'] },
        }),
      },
      '/openapi.json': {
        get: operation({
          id: 'getOpenApi',
          tag: 'system',
          summary: 'This document',
          ok: { 200: ['The OpenAPI 3.1 document', 'OpenApiDocument'] },
        }),
      },
    }),
    components: {
      schemas,
      responses: errorResponses(),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A token from API_TOKENS / API_TOKENS_FILE with scope read, write or admin (admin ⊃ write ⊃ read). Off when the manager runs without tokens on loopback.',
        },
      },
      parameters: { Id: { name: 'id', in: 'path', required: true, schema: str } },
    },
  };
}

let cached: Schema | undefined;

/** The document, built on first use; it only depends on code, so one instance serves every request. */
export function openApiDocument(): Schema {
  cached ??= build();
  return cached;
}
