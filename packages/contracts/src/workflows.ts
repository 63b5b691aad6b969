// Workflow (DAG) shapes of the HTTP API: the create body, the list query and the resources.
import { TASK_STATUSES, WORKFLOW_ON_FAILURE, WORKFLOW_STATUSES } from './statuses.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from './requests.js';
import { taskErrorSchema, taskEventSchema } from './api.js';
import { DateTime, DateTimeOrNull, Enum, Nullable, Raw, StringOrNull, Type } from './shape-kit.js';
import { MAX_WORKFLOW_STEPS, workflowStepBody } from './workflow-spec.js';
import type { Static } from './shape-kit.js';

const closed = { additionalProperties: false } as const;

/** Either `name` + `steps` (+ `on_failure`), or `workflow_template_id` (+ an optional `name`). */
export const createWorkflowBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    steps: Type.Optional(Type.Array(workflowStepBody, { minItems: 1, maxItems: MAX_WORKFLOW_STEPS })),
    on_failure: Type.Optional(Enum(WORKFLOW_ON_FAILURE)),
    workflow_template_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'Start the workflow of this workflow template',
      }),
    ),
  },
  closed,
);
export type CreateWorkflowBody = Static<typeof createWorkflowBody>;

export const listWorkflowsQuery = Type.Object({
  status: Type.Optional(
    Type.String({ examples: ['RUNNING'], description: `Comma-separated: ${WORKFLOW_STATUSES.join(', ')}` }),
  ),
  name: Type.Optional(Type.String({ description: 'Only workflows of this name' })),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: 'Page size' }),
  ),
  cursor: Type.Optional(Type.String({ description: 'next_cursor of the previous page' })),
});

export const workflowStepSchema = Type.Object(
  {
    key: Type.String(),
    task_id: Type.String(),
    status: Enum(TASK_STATUSES),
    depends_on: Type.Array(Type.String()),
    attempt: Type.Integer(),
    error: Nullable(taskErrorSchema),
    queued_at: DateTimeOrNull,
    started_at: DateTimeOrNull,
    finished_at: DateTimeOrNull,
  },
  closed,
);

const workflowFields = {
  id: Type.String(),
  name: Type.String(),
  status: Enum(WORKFLOW_STATUSES),
  on_failure: Enum(WORKFLOW_ON_FAILURE),
  workflow_template_id: StringOrNull,
  steps_total: Type.Integer(),
  steps_finished: Type.Integer({ description: 'Steps COMPLETED, FAILED, TIMED_OUT or CANCELED' }),
  steps_completed: Type.Integer(),
  created_at: DateTime,
  updated_at: DateTime,
  finished_at: DateTimeOrNull,
};

/** GET /workflows items: without the steps. */
export const workflowSummarySchema = Type.Object(workflowFields, closed);
export type WorkflowSummaryResource = Static<typeof workflowSummarySchema>;

export const workflowSchema = Type.Object(
  { ...workflowFields, steps: Type.Array(workflowStepSchema) },
  closed,
);
export type WorkflowResource = Static<typeof workflowSchema>;

export const workflowPageSchema = Type.Object(
  {
    items: Type.Array(workflowSummarySchema),
    next_cursor: Raw<string | null>({
      type: ['string', 'null'],
      description: 'Pass as `cursor` for the next page; null at the end.',
    }),
  },
  closed,
);

/** GET /workflows/{id}/events. */
export const workflowEventsSchema = Type.Object({ items: Type.Array(taskEventSchema) }, closed);
