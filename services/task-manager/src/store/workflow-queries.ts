// The workflow queries both dialects share: filters over the workflows and workflow_steps columns.
import { and, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Column } from 'drizzle-orm';
import type {
  WorkflowFilter,
  WorkflowPurgeScope,
  WorkflowRecord,
  WorkflowStatus,
  WorkflowStepRecord,
} from './types.js';

/** The workflows of one purge unit: whole workflows, oldest first, up to `limit` steps (at least one). */
export function wholeWorkflowsWithin(found: ReadonlyArray<{ id: string; steps: number }>, limit: number) {
  const chosen: string[] = [];
  let steps = 0;
  for (const w of found) {
    if (chosen.length > 0 && steps + w.steps > limit) break;
    chosen.push(w.id);
    steps += w.steps;
  }
  return chosen;
}

/**
 * Of the chosen workflows, those a purge unit deletes (no step unfinished) and their step tasks;
 * a workflow with an unfinished step (still stopping) waits for a later pass.
 */
export function purgeableSteps(
  chosen: readonly string[],
  steps: ReadonlyArray<{ taskId: string; workflowId: string }>,
  unfinished: ReadonlySet<string>,
) {
  const held = new Set(steps.filter((st) => unfinished.has(st.taskId)).map((st) => st.workflowId));
  return {
    ids: chosen.filter((id) => !held.has(id)),
    taskIds: steps.filter((st) => !held.has(st.workflowId)).map((st) => st.taskId),
  };
}

type Columns<K extends string> = { readonly [P in K]: Column };

export interface WorkflowTables {
  workflows: Columns<keyof WorkflowRecord & string>;
  workflowSteps: Columns<keyof WorkflowStepRecord & string>;
}

export function workflowQueries({ workflows, workflowSteps }: WorkflowTables) {
  return {
    list: (f: WorkflowFilter) => ({
      where: and(
        f.status && f.status.length > 0 ? inArray(workflows.status, f.status) : undefined,
        f.name !== undefined ? eq(workflows.name, f.name) : undefined,
        f.workflowTemplateId !== undefined
          ? eq(workflows.workflowTemplateId, f.workflowTemplateId)
          : undefined,
        f.beforeId !== undefined ? lt(workflows.id, f.beforeId) : undefined,
      ),
      orderBy: desc(workflows.id),
      limit: f.limit,
    }),
    guarded: (id: string, guard?: { status?: readonly WorkflowStatus[] }) =>
      and(eq(workflows.id, id), guard?.status ? inArray(workflows.status, [...guard.status]) : undefined),
    progress: (delta: { finished: number; completed: number }, at: Date) => ({
      stepsFinished: sql`${workflows.stepsFinished} + ${delta.finished}`,
      stepsCompleted: sql`${workflows.stepsCompleted} + ${delta.completed}`,
      updatedAt: at,
    }),
    stepsByKey: (workflowId: string, keys: readonly string[]) =>
      and(eq(workflowSteps.workflowId, workflowId), inArray(workflowSteps.stepKey, [...keys])),
    release: { depsRemaining: sql`${workflowSteps.depsRemaining} - 1` },
    /** Finished workflows the retention purge may delete, read as a range of the primary key. */
    purgeable: (p: WorkflowPurgeScope) =>
      and(
        lt(workflows.id, p.idBefore),
        inArray(workflows.status, ['COMPLETED', 'FAILED', 'CANCELED']),
        lt(workflows.finishedAt, p.finishedBefore),
      ),
  };
}
