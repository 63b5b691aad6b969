// Workflow transitions as rows of task_events (task_id = the workflow's id), so the live event stream carries them.
import type { TaskEventType } from '@taskwire/contracts';
import type { TaskEventRecord } from '../store/types.js';

export type WorkflowEventType = Extract<TaskEventType, `workflow_${string}`>;

/** An event of workflow `id` (attempt 0: a workflow has no attempts). */
export function workflowEvent(
  id: string,
  type: WorkflowEventType,
  at: Date,
  data: Record<string, unknown>,
): TaskEventRecord {
  return { taskId: id, attempt: 0, type, at, workerId: null, data: { workflow_id: id, ...data } };
}
