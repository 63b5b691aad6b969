// Queues one attempt of a task: status QUEUED, a `queued` event and the outbox row, in the caller's unit of work.
import { dispatchTopicFor } from '@taskwire/contracts';
import type { DispatchMessage } from '@taskwire/contracts';
import type { OutboxRecord, StoreOps, TaskEventRecord, TaskRecord, TemplateRecord } from '../store/types.js';

/** A dispatch that waited this long in Kafka without being started is reported as timed out. */
export const DISPATCH_EXPIRY_MS = 24 * 3_600_000;

export interface DispatchSettings {
  /** Base dispatch topic (TASK_DISPATCH_TOPIC). */
  dispatchTopic: string;
}

/** Builds the outbox row that announces attempt `task.attempt` of `task` to the workers. */
export function dispatchOutboxRow(
  task: TaskRecord,
  template: TemplateRecord,
  now: Date,
  settings: DispatchSettings,
): OutboxRecord {
  const message: DispatchMessage = {
    v: 1,
    task_id: task.id,
    attempt: task.attempt,
    template_id: template.id,
    template_name: template.name,
    executor: template.executor,
    queue: task.queue,
    params: task.params,
    param_schema: template.paramSchema,
    timeout_ms: task.timeoutMs,
    // The run itself is bounded by timeout_ms from the moment a worker starts it (a backlog or a
    // rebalance after a worker crash must not eat into it). `deadline` only expires a dispatch
    // that waited in Kafka for longer than a day, which is no longer worth starting.
    deadline: now.getTime() + DISPATCH_EXPIRY_MS + task.timeoutMs,
    queued_at: now.getTime(),
  };
  return {
    topic: dispatchTopicFor(settings.dispatchTopic, task.queue),
    key: task.id,
    payload: JSON.stringify(message),
    createdAt: now,
  };
}

/**
 * Marks `task` QUEUED and writes its `queued` event and outbox row. A task that is RETRYING, or
 * finished and being retried by hand (`newAttempt`), moves to the next attempt. The task object is
 * updated in place. Call inside a unit of work; the status/attempt guard makes the move a
 * compare-and-set, so two replicas never queue the same attempt twice (returns false then).
 * With `insert`, the caller inserts the row itself (already QUEUED) and only event + outbox are written.
 */
export async function queueTask(
  tx: StoreOps,
  task: TaskRecord,
  template: TemplateRecord,
  now: Date,
  settings: DispatchSettings,
  opts: { insert?: boolean; newAttempt?: boolean; eventData?: Record<string, unknown> } = {},
): Promise<boolean> {
  const attempt = opts.newAttempt || task.status === 'RETRYING' ? task.attempt + 1 : task.attempt;
  const patch = {
    status: 'QUEUED' as const,
    attempt,
    queuedAt: now,
    updatedAt: now,
    nextAttemptAt: null,
    ...(attempt !== task.attempt ? { startedAt: null, finishedAt: null, workerId: null } : {}),
  };
  if (!opts.insert) {
    const changed = await tx.updateTask(task.id, patch, { status: [task.status], attempt: task.attempt });
    if (!changed) return false;
  }
  Object.assign(task, patch);
  const event: TaskEventRecord = {
    taskId: task.id,
    attempt: task.attempt,
    type: 'queued',
    at: now,
    workerId: null,
    data: { queue: task.queue, ...opts.eventData },
  };
  await tx.insertEvents([event]);
  await tx.insertOutbox([dispatchOutboxRow(task, template, now, settings)]);
  return true;
}
