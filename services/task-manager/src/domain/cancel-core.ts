// The cancel move inside a unit of work: PENDING/QUEUED/RETRYING end at once, RUNNING ones get a control message.
import type { ControlMessage, TaskStatus, WireError } from '@taskwire/contracts';
import type { OutboxRecord, StoreOps, TaskRecord } from '../store/types.js';
import type { DomainDeps } from './deps.js';
import { AppError } from './errors.js';
import { endedRun } from './metrics-hooks.js';
import type { EndedRun } from './metrics-hooks.js';

/** Statuses that end as CANCELED as soon as the request is written. */
const CANCEL_AT_ONCE: readonly TaskStatus[] = ['PENDING', 'WAITING', 'QUEUED', 'RETRYING'];

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

export type CancelStep =
  { done: true; task: TaskRecord; outbox: boolean; ended?: EndedRun } | { done: false };

/** Why a cancel was made by the system (a workflow): kept as the task's error and in the event. */
export interface CancelReason {
  error: WireError;
  data: Record<string, unknown>;
}

/**
 * cancelTask's move on a task already read in this unit of work (also used by workflows, with a
 * `reason`). done:false when the task changed since it was read.
 */
export async function cancelReadTask(
  tx: StoreOps,
  deps: Pick<DomainDeps, 'clock' | 'logger' | 'settings'>,
  task: TaskRecord,
  reason?: CancelReason,
): Promise<CancelStep> {
  const id = task.id;
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
        data: { ...reason?.data },
      },
    ]);
    await tx.insertOutbox([controlOutboxRow(task, now, deps.settings.controlTopic)]);
    deps.logger.info({ taskId: id, attempt: task.attempt, workerId: task.workerId }, 'cancel requested');
    return { done: true, task, outbox: true };
  }

  if (!CANCEL_AT_ONCE.includes(from)) {
    throw new AppError(
      'invalid_transition',
      `task ${JSON.stringify(id)} is ${from}; only PENDING, WAITING, QUEUED, RETRYING or RUNNING tasks can be canceled`,
      { status: from },
    );
  }

  const patch = {
    status: 'CANCELED' as const,
    finishedAt: now,
    updatedAt: now,
    nextAttemptAt: null,
    ...(reason ? { error: reason.error } : {}),
  };
  const changed = await tx.updateTask(id, patch, { status: [from], attempt: task.attempt });
  // Lost a race (a worker started it, the due loop queued it…): read again and decide anew.
  if (!changed) return { done: false };
  Object.assign(task, patch);
  await tx.insertEvents([
    {
      taskId: id,
      attempt: task.attempt,
      type: 'canceled',
      at: now,
      workerId: null,
      data: { from, ...reason?.data },
    },
  ]);
  const outbox = from === 'QUEUED';
  if (outbox) await tx.insertOutbox([controlOutboxRow(task, now, deps.settings.controlTopic)]);
  deps.logger.info({ taskId: id, attempt: task.attempt, from }, 'task canceled');
  const [template] = await tx.getTemplates([task.templateId]);
  return { done: true, task, outbox, ended: endedRun(task, template?.name) };
}
