// Cancellation: PENDING/QUEUED/RETRYING tasks end at once; RUNNING ones are asked to stop via the control topic.
import type { ControlMessage, TaskStatus } from '@taskwire/contracts';
import type { OutboxRecord, StoreOps, TaskRecord } from '../store/types.js';
import type { DomainDeps } from './deps.js';
import { AppError } from './errors.js';
import { endedRun } from './metrics-hooks.js';
import type { EndedRun } from './metrics-hooks.js';

/** Statuses that end as CANCELED as soon as the request is written. */
const CANCEL_AT_ONCE: readonly TaskStatus[] = ['PENDING', 'QUEUED', 'RETRYING'];

/** How often a cancel is retried when the task changed between our read and our guarded write. */
const MAX_RACES = 5;

/** The outbox row for a cancel request on the control topic, which every worker reads. */
export function controlOutboxRow(task: TaskRecord, now: Date, controlTopic: string): OutboxRecord {
  const message: ControlMessage = {
    v: 1,
    type: 'cancel',
    task_id: task.id,
    attempt: task.attempt,
    at: now.getTime(),
  };
  return { topic: controlTopic, key: task.id, payload: JSON.stringify(message), createdAt: now };
}

type Step = { done: true; task: TaskRecord; outbox: boolean; ended?: EndedRun } | { done: false };

/**
 * Cancels task `id` and returns it as it now is.
 * - PENDING, QUEUED, RETRYING → CANCELED now (`canceled` event, finished_at). A QUEUED task's dispatch
 *   message is already in Kafka, so a control message also tells workers to skip it when it arrives.
 * - RUNNING → a `cancel_requested` event and a control message; the task stays RUNNING until its
 *   worker reports `canceled` (applied by the result consumer). Asking twice sends the request again.
 * - CANCELED → returned unchanged (idempotent).
 * - COMPLETED, FAILED, TIMED_OUT → AppError('invalid_transition').
 */
export async function cancelTask(deps: DomainDeps, id: string): Promise<TaskRecord> {
  for (let race = 0; race < MAX_RACES; race++) {
    const step = await deps.store.unitOfWork((tx) => cancelOnce(tx, deps, id));
    if (!step.done) continue;
    if (step.ended) deps.metrics?.runsEnded([step.ended]);
    if (step.outbox) deps.signals.outboxWritten();
    return step.task;
  }
  throw AppError.conflict(`task ${JSON.stringify(id)} kept changing while being canceled; try again`);
}

async function cancelOnce(tx: StoreOps, deps: DomainDeps, id: string): Promise<Step> {
  const task = await tx.getTask(id);
  if (!task) throw AppError.notFound('task', id);
  const now = deps.clock.now();
  const from = task.status;

  if (from === 'CANCELED') return { done: true, task, outbox: false };

  if (from === 'RUNNING') {
    await tx.insertEvents([
      {
        taskId: id,
        attempt: task.attempt,
        type: 'cancel_requested',
        at: now,
        workerId: task.workerId,
        data: {},
      },
    ]);
    await tx.insertOutbox([controlOutboxRow(task, now, deps.settings.controlTopic)]);
    deps.logger.info({ taskId: id, attempt: task.attempt, workerId: task.workerId }, 'cancel requested');
    return { done: true, task, outbox: true };
  }

  if (!CANCEL_AT_ONCE.includes(from)) {
    throw new AppError(
      'invalid_transition',
      `task ${JSON.stringify(id)} is ${from}; only PENDING, QUEUED, RETRYING or RUNNING tasks can be canceled`,
      { status: from },
    );
  }

  const patch = { status: 'CANCELED' as const, finishedAt: now, updatedAt: now, nextAttemptAt: null };
  const changed = await tx.updateTask(id, patch, { status: [from], attempt: task.attempt });
  // Lost a race (a worker started it, the due loop queued it…): read again and decide anew.
  if (!changed) return { done: false };
  Object.assign(task, patch);
  await tx.insertEvents([
    { taskId: id, attempt: task.attempt, type: 'canceled', at: now, workerId: null, data: { from } },
  ]);
  const outbox = from === 'QUEUED';
  if (outbox) await tx.insertOutbox([controlOutboxRow(task, now, deps.settings.controlTopic)]);
  deps.logger.info({ taskId: id, attempt: task.attempt, from }, 'task canceled');
  const [template] = await tx.getTemplates([task.templateId]);
  return { done: true, task, outbox, ended: endedRun(task, template?.name) };
}
