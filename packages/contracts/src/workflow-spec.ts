// The definition of a workflow (its steps and on_failure), shared by POST /workflows and workflow templates.
import { WORKFLOW_ON_FAILURE } from './statuses.js';
import { Enum, Raw, Type } from './shape-kit.js';
import type { Static } from './shape-kit.js';

/** The most steps in one workflow. */
export const MAX_WORKFLOW_STEPS = 5_000;

const closed = { additionalProperties: false } as const;
const int = (minimum: number, maximum: number) => Type.Integer({ minimum, maximum });
const stepKey = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,200}$', description: 'Unique in the workflow' });

export const workflowStepBody = Type.Object(
  {
    key: stepKey,
    task_template_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    template_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    params: Type.Optional(
      Raw<Record<string, unknown>>({
        type: 'object',
        description:
          'Merged over the template\'s default_params. A value exactly {"$ref": "#/steps/<key>/result<JSON pointer>"} is replaced by that value of an ancestor step\'s result when this step becomes runnable.',
      }),
    ),
    depends_on: Type.Optional(Type.Array(stepKey, { maxItems: MAX_WORKFLOW_STEPS })),
    priority: Type.Optional(int(0, 9)),
    max_attempts: Type.Optional(int(1, 100)),
    timeout_ms: Type.Optional(int(1, 86_400_000)),
  },
  closed,
);
export type WorkflowStepBody = Static<typeof workflowStepBody>;

/** A workflow template's `workflow`: what POST /workflows takes, without the name. */
export const workflowSpecBody = Type.Object(
  {
    steps: Type.Array(workflowStepBody, { minItems: 1, maxItems: MAX_WORKFLOW_STEPS }),
    on_failure: Type.Optional(Enum(WORKFLOW_ON_FAILURE)),
  },
  closed,
);
export type WorkflowSpecBody = Static<typeof workflowSpecBody>;
