// Cancellation: PENDING/WAITING/QUEUED/RETRYING tasks end at once; RUNNING ones are asked to stop via the control topic.
import type { TaskRecord } from '../store/types.js';
import { cancelReadTask } from './cancel-core.js';
import type { DomainDeps } from './deps.js';
import { AppError } from './errors.js';
import { onTasksEnded, signalStepEffects } from './workflow-advance.js';

export { controlOutboxRow } from './cancel-core.js';

/** How often a cancel is retried when the task changed between our read and our guarded write. */
const MAX_RACES = 5;

/**
 * Cancels task `id` and returns it as it now is.
 * - PENDING, WAITING, QUEUED, RETRYING → CANCELED now (`canceled` event, finished_at). A QUEUED task's dispatch
 *   message is already in Kafka, so a control message also tells workers to skip it when it arrives.
 * - RUNNING → a `cancel_requested` event and a control message; the task stays RUNNING until its
 *   worker reports `canceled` (applied by the result consumer). Asking twice sends the request again.
 * - CANCELED → returned unchanged (idempotent).
 * - COMPLETED, FAILED, TIMED_OUT → AppError('invalid_transition').
 */
export async function cancelTask(deps: DomainDeps, id: string): Promise<TaskRecord> {
  for (let race = 0; race < MAX_RACES; race++) {
    const step = await deps.store.unitOfWork(async (tx) => {
      const task = await tx.getTask(id);
      if (!task) throw AppError.notFound('task', id);
      const from = task.status;
      const done = await cancelReadTask(tx, deps, task);
      if (!done.done || from === 'CANCELED' || done.task.status !== 'CANCELED')
        return { done, effects: null };
      // A step of a workflow: what follows from it (fail_fast, dependants) happens in this unit.
      return { done, effects: await onTasksEnded(tx, deps, [done.task]) };
    });
    if (!step.done.done) continue;
    const ended = [...(step.done.ended ? [step.done.ended] : []), ...(step.effects?.ended ?? [])];
    if (ended.length > 0) deps.metrics?.runsEnded(ended);
    if (step.done.outbox) deps.signals.outboxWritten();
    signalStepEffects(deps.signals, step.effects);
    // A QUEUED task's slot is free now: a waiting one may take it.
    if (step.done.task.status === 'CANCELED') deps.signals.admit?.(step.done.task.queue);
    return step.done.task;
  }
  throw AppError.conflict(`task ${JSON.stringify(id)} kept changing while being canceled; try again`);
}
