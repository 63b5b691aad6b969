// The OpenAPI 3.1 document, generated from the route table (routes.ts) and the shapes of contracts;
// served at GET /openapi.json and kept in step by tests.
import {
  ERROR_CODES,
  ERROR_STATUS,
  attemptSchema,
  backoffSchema,
  batchResultSchema,
  createTaskBatchBody,
  createTaskBody,
  createTemplateBody,
  createWorkflowBody,
  deadLetterPageSchema,
  deadLetterSchema,
  dlqReplayResultSchema,
  dlqReplaySchema,
  errorBodySchema,
  errorDetailSchema,
  errorObjectSchema,
  openApiDocumentSchema,
  overviewSchema,
  statusSchema,
  taskErrorSchema,
  taskEventSchema,
  taskHistorySchema,
  taskPageSchema,
  taskSchema,
  templateListSchema,
  templateSchema,
  replayDeadLetterBody,
  replayDeadLetterListBody,
  replayDeadLettersBody,
  updateTaskBody,
  updateTemplateBody,
  workerListSchema,
  NAME_PATTERN,
  queueSchema,
  queueListSchema,
  updateQueueBody,
  workerSchema,
  workflowEventsSchema,
  workflowPageSchema,
  workflowSchema,
  workflowStepSchema,
  workflowSummarySchema,
} from '@taskwire/contracts';
import type { TSchema } from '@taskwire/contracts';
import { PRIVILEGED_EXECUTORS } from './auth.js';
import type { ErrorStatus, Route } from './route.js';
import { ROUTES } from './routes.js';

type Schema = Record<string, unknown>;

/**
 * The named schemas of components.schemas. A route's schema, and any schema nested in another,
 * that is one of these becomes a $ref to it; a route naming a schema missing here fails to build.
 */
const COMPONENTS: Record<string, TSchema> = {
  CreateTemplate: createTemplateBody,
  UpdateTemplate: updateTemplateBody,
  CreateTask: createTaskBody,
  CreateTaskBatch: createTaskBatchBody,
  UpdateTask: updateTaskBody,
  Backoff: backoffSchema,
  Template: templateSchema,
  TaskError: taskErrorSchema,
  Task: taskSchema,
  TaskEvent: taskEventSchema,
  Attempt: attemptSchema,
  Worker: workerSchema,
  TemplateList: templateListSchema,
  WorkerList: workerListSchema,
  TaskPage: taskPageSchema,
  Queue: queueSchema,
  QueueList: queueListSchema,
  UpdateQueue: updateQueueBody,
  TaskHistory: taskHistorySchema,
  BatchResult: batchResultSchema,
  CreateWorkflow: createWorkflowBody,
  Workflow: workflowSchema,
  WorkflowStep: workflowStepSchema,
  WorkflowSummary: workflowSummarySchema,
  WorkflowPage: workflowPageSchema,
  WorkflowEvents: workflowEventsSchema,
  ReplayDeadLetter: replayDeadLetterBody,
  ReplayDeadLetterList: replayDeadLetterListBody,
  ReplayDeadLetters: replayDeadLettersBody,
  DlqReplay: dlqReplaySchema,
  DeadLetter: deadLetterSchema,
  DeadLetterPage: deadLetterPageSchema,
  DlqReplayResult: dlqReplayResultSchema,
  Overview: overviewSchema,
  OpenApiDocument: openApiDocumentSchema,
  Status: statusSchema,
  ErrorDetail: errorDetailSchema,
  ErrorObject: errorObjectSchema,
  Error: errorBodySchema,
};

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ 'application/json': { schema } });

/** Plain JSON (TypeBox's symbol keys dropped), keyed for finding the components nested anywhere. */
const plain = (s: unknown): string => JSON.stringify(s);
const componentByJson = new Map(Object.entries(COMPONENTS).map(([name, s]) => [plain(s), name]));

/** `schema` as plain JSON with every component inside it (but not itself, if `root`) as a $ref. */
function withRefs(schema: unknown, root = false): unknown {
  if (!root && typeof schema === 'object' && schema !== null) {
    const name = componentByJson.get(plain(schema));
    if (name !== undefined) return ref(name);
  }
  if (Array.isArray(schema)) return schema.map((s) => withRefs(s));
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, withRefs(v)]));
}

/** The $ref of a route's schema, which must be a component. */
function refTo(schema: TSchema, where: string): Schema {
  const name = componentByJson.get(plain(schema));
  if (name === undefined) throw new Error(`${where}: its schema is not in the OpenAPI components`);
  return ref(name);
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
  }
  out.Unavailable!.headers = {
    'Retry-After': {
      description: 'Seconds to wait before retrying (also in error.details.retry_after_s).',
      schema: { type: 'integer', minimum: 1 },
    },
  };
  out.Unauthorized!.headers = {
    'WWW-Authenticate': { description: 'Bearer challenge (RFC 6750)', schema: { type: 'string' } },
  };
  return out;
}

/**
 * One operation from its declaration. The scope it needs is named as the role in its bearer
 * requirement (OpenAPI 3.1 allows roles there), with the 401/403 the auth middleware answers.
 */
function operation(id: string, r: Route): Schema {
  const where = `${r.method} ${r.path}`;
  const responses: Record<string, Schema> = {};
  for (const [status, [description, schema, type]] of Object.entries(r.ok)) {
    // JSON bodies are components; another media type (a text format) is described inline.
    responses[status] =
      schema === null
        ? { description }
        : type === undefined
          ? { description, content: json(refTo(schema, where)) }
          : { description, content: { [type]: { schema: withRefs(schema) } } };
  }
  const errors = new Set<ErrorStatus>([
    ...(r.body ? ([400, 413] as const) : []),
    ...(r.errors ?? []),
    ...(r.database === false ? [] : ([503] as const)),
    ...(r.access === 'public' ? [] : ([401] as const)),
    // Every valid token holds read, so only routes needing more can answer 403.
    ...(r.access !== 'public' && (r.access !== 'read' || r.executorRule) ? ([403] as const) : []),
    500,
  ]);
  for (const status of [...errors].sort((a, b) => a - b)) {
    responses[status] = { $ref: `#/components/responses/${ERROR_RESPONSES[status]}` };
  }
  const description =
    r.description ??
    (r.executorRule
      ? `A template whose executor is ${PRIVILEGED_EXECUTORS.map((e) => `\`${e}\``).join(' or ')} needs scope \`admin\` (403 for a \`write\` token).`
      : undefined);
  return {
    operationId: id,
    tags: [r.tag],
    summary: r.summary,
    ...(r.query
      ? {
          parameters: Object.entries(r.query.properties).map(([name, s]) => {
            const { description: about, ...schema } = withRefs(s) as Schema;
            return { name, in: 'query', required: false, description: about, schema };
          }),
        }
      : {}),
    ...(r.body ? { requestBody: { required: true, content: json(refTo(r.body, where)) } } : {}),
    responses,
    security: r.access === 'public' ? [] : [{ bearer: [r.access] }],
    ...(description ? { description } : {}),
  };
}

/** `/tasks/:id` as OpenAPI writes it: `/tasks/{id}`. */
export const openApiPath = (path: string): string => path.replace(/:(\w+)/g, '{$1}');

/** The document of `routes` (exported for tests; the app serves openApiDocument()). */
export function buildOpenApi(routes: Readonly<Record<string, Route>>): Schema {
  const paths: Record<string, Schema> = {};
  for (const [id, r] of Object.entries(routes)) {
    const path = openApiPath(r.path);
    paths[path] ??= path.includes('{id}')
      ? { parameters: [{ $ref: '#/components/parameters/Id' }] }
      : path.includes('{queue}')
        ? { parameters: [{ $ref: '#/components/parameters/Queue' }] }
        : {};
    paths[path][r.method.toLowerCase()] = operation(id, r);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Taskwire task-manager',
      version: '1.0.0',
      description:
        'Task templates, tasks, their history and the workers. JSON with snake_case fields; every error is `{"error": {code, message, details}}`.',
    },
    tags: [
      { name: 'templates' },
      { name: 'tasks' },
      { name: 'queues' },
      { name: 'workflows' },
      { name: 'dlq' },
      { name: 'system' },
    ],
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(COMPONENTS).map(([n, s]) => [n, withRefs(s, true)])),
      responses: errorResponses(),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A token from API_TOKENS / API_TOKENS_FILE with scope read, write or admin (admin ⊃ write ⊃ read). Off when the manager runs without tokens on loopback.',
        },
      },
      parameters: {
        Id: { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
        Queue: {
          name: 'queue',
          in: 'path',
          required: true,
          schema: { type: 'string', pattern: NAME_PATTERN },
        },
      },
    },
  };
}

let cached: Schema | undefined;

/** The document, built on first use; it only depends on code, so one instance serves every request. */
export function openApiDocument(): Schema {
  cached ??= buildOpenApi(ROUTES);
  return cached;
}
