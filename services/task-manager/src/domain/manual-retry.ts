// Manual retry (POST /tasks/{id}/retry): a FAILED, TIMED_OUT or CANCELED task starts a new attempt now.
import type { TaskStatus } from '@taskwire/contracts';
import type { StoreOps, TaskRecord } from '../store/types.js';
import type { DomainDeps } from './deps.js';
import { queueOrWait } from './admission.js';
import { AppError } from './errors.js';

const RETRYABLE_BY_HAND: readonly TaskStatus[] = ['FAILED', 'TIMED_OUT', 'CANCELED'];

/** How often the retry is re-read and re-tried when the task changed under us. */
const MAX_RACES = 5;

/**
 * Queues attempt `attempt + 1` of a finished task and returns it (QUEUED, or WAITING when admission holds it). The trigger stays as it
 * was; the `queued` event carries `retry: "manual"` and the status it came from. If the new attempt
 * is beyond max_attempts, max_attempts is raised to it, so that the automatic retry rules see a task
 * on its last allowed attempt rather than one already past its limit.
 * Any other status → AppError('invalid_transition'); an unknown id → AppError('not_found').
 */
export async function retryTask(deps: DomainDeps, id: string): Promise<TaskRecord> {
  for (let race = 0; race < MAX_RACES; race++) {
    const task = await deps.store.unitOfWork((tx) => retryOnce(tx, deps, id));
    if (!task) continue;
    if (task.status === 'WAITING') deps.signals.admit?.(task.queue);
    else deps.signals.outboxWritten();
    return task;
  }
  throw AppError.conflict(`task ${JSON.stringify(id)} kept changing while being retried; try again`);
}

async function retryOnce(tx: StoreOps, deps: DomainDeps, id: string): Promise<TaskRecord | null> {
  const task = await tx.getTask(id);
  if (!task) throw AppError.notFound('task', id);
  const from = task.status;
  if (!RETRYABLE_BY_HAND.includes(from)) {
    throw new AppError(
      'invalid_transition',
      `task ${JSON.stringify(id)} is ${from}; only FAILED, TIMED_OUT or CANCELED tasks can be retried`,
      { status: from },
    );
  }
  const [step] = await tx.getStepsOfTasks([id]);
  if (step) {
    throw new AppError(
      'invalid_transition',
      `task ${JSON.stringify(id)} is step "${step.stepKey}" of workflow ${step.workflowId}; retry the workflow (POST /workflows/${step.workflowId}/retry)`,
      { workflow_id: step.workflowId, step_key: step.stepKey },
    );
  }
  const template =
    (await tx.getTemplate(task.templateId)) ?? (await tx.getTemplateIncludingDeleted(task.templateId));
  if (!template) {
    throw new AppError('internal_error', `template ${task.templateId} of task ${id} is missing`);
  }
  const now = deps.clock.now();
  const previousAttempt = task.attempt;
  if (task.attempt + 1 > task.maxAttempts) {
    const maxAttempts = task.attempt + 1;
    const changed = await tx.updateTask(
      id,
      { maxAttempts, updatedAt: now },
      { status: [from], attempt: task.attempt },
    );
    if (!changed) return null;
    task.maxAttempts = maxAttempts;
  }
  const queued = await queueOrWait(tx, task, template, now, deps.settings, {
    newAttempt: true,
    eventData: { retry: 'manual', from, previous_attempt: previousAttempt },
  });
  if (!queued) return null;
  deps.logger.info({ taskId: id, attempt: task.attempt, from }, 'task retried by hand');
  return task;
}
