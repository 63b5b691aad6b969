// Queues one attempt of a task (status QUEUED, `queued` event, outbox row); fails attempts Kafka cannot carry.
import { dispatchTopicFor } from '@taskwire/contracts';
import type { DispatchMessage, WireError } from '@taskwire/contracts';
import type { OutboxRecord, StoreOps, TaskEventRecord, TaskRecord, TemplateRecord } from '../store/types.js';
import type { DomainDeps } from './deps.js';
import { paramSchemaRef, schemaOutboxRow } from './schema-refs.js';
import { loadTaskTemplates } from './task-templates.js';

/** A dispatch that waited this long in Kafka without being started is reported as timed out. */
export const DISPATCH_EXPIRY_MS = 24 * 3_600_000;

export interface DispatchSettings {
  /** Base dispatch topic (TASK_DISPATCH_TOPIC). */
  dispatchTopic: string;
  /** TASK_SCHEMA_TOPIC (default DEFAULT_TOPICS.schemas). */
  schemaTopic?: string;
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
    // By hash, not inline: the schema goes to the schema topic once (templates.ts, schema-refs.ts).
    ...(template.paramSchema ? { param_schema_ref: paramSchemaRef(template.paramSchema) } : {}),
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
  opts: {
    insert?: boolean;
    newAttempt?: boolean;
    eventData?: Record<string, unknown>;
    /** Collect the event and outbox row here for the caller to insert in bulk (admission batches). */
    collect?: { events: TaskEventRecord[]; outbox: OutboxRecord[] };
  } = {},
): Promise<boolean> {
  const attempt = opts.newAttempt || task.status === 'RETRYING' ? task.attempt + 1 : task.attempt;
  const patch = {
    status: 'QUEUED' as const,
    attempt,
    queuedAt: now,
    updatedAt: now,
    nextAttemptAt: null,
    // Where this attempt's dispatch lands is known once the relay has sent it.
    dispatchPartition: null,
    dispatchOffset: null,
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
  const row = dispatchOutboxRow(task, template, now, settings);
  // A deleted template's schema is not republished at start (publishTemplateSchemas reads the live
  // ones): its rare retries publish it with each dispatch, ahead of it in outbox order.
  const rows =
    template.deletedAt !== null && template.paramSchema
      ? [schemaOutboxRow(template.paramSchema, now, settings.schemaTopic), row]
      : [row];
  if (opts.collect) {
    opts.collect.events.push(event);
    opts.collect.outbox.push(...rows);
    return true;
  }
  await tx.insertEvents([event]);
  await tx.insertOutbox(rows);
  return true;
}

/**
 * Fails the attempt for good (no retry) if the task is still in the status and attempt it was read
 * with (compare-and-set); returns its `failed` event for the caller to insert, or null if the task
 * moved on first. `patch` clears what else the task's status left behind.
 */
export async function failForGood(
  tx: StoreOps,
  task: TaskRecord,
  error: WireError,
  now: Date,
  patch: { nextAttemptAt?: null } = {},
): Promise<TaskEventRecord | null> {
  const changed = await tx.updateTask(
    task.id,
    { status: 'FAILED', error, finishedAt: now, updatedAt: now, ...patch },
    { status: [task.status], attempt: task.attempt },
  );
  if (!changed) return null;
  return { taskId: task.id, attempt: task.attempt, type: 'failed', at: now, workerId: null, data: { error } };
}

/**
 * Dispatches again, with the same attempt, the QUEUED tasks whose dispatch message Kafka deleted
 * by retention before any worker read it (its offset is below the partition's log start): nothing
 * else would ever run them. Each task is re-read in the unit of work and skipped unless it is
 * still QUEUED at the same attempt with the same lost offset, so a result that landed meanwhile
 * wins. Returns how many were dispatched again.
 */
export async function redispatchLost(deps: DomainDeps, lost: readonly TaskRecord[]): Promise<number> {
  if (lost.length === 0) return 0;
  const now = deps.clock.now();
  const count = await deps.store.unitOfWork(async (tx) => {
    const current = await tx.getTasks(lost.map((t) => t.id));
    const templates = await loadTaskTemplates(tx, current);
    let queued = 0;
    for (const task of current) {
      const seen = lost.find((t) => t.id === task.id)!;
      const template = templates.get(task.templateId);
      if (
        !template ||
        task.status !== 'QUEUED' ||
        task.attempt !== seen.attempt ||
        task.dispatchOffset === null ||
        task.dispatchOffset !== seen.dispatchOffset
      )
        continue;
      const eventData = {
        redispatched: 'retention',
        lost_partition: task.dispatchPartition,
        lost_offset: task.dispatchOffset,
      };
      if (await queueTask(tx, task, template, now, deps.settings, { eventData })) queued++;
      deps.logger.warn(
        { taskId: task.id, attempt: task.attempt, ...eventData },
        'dispatch deleted by Kafka retention before any worker read it; dispatched again',
      );
    }
    return queued;
  });
  if (count > 0) deps.signals.outboxWritten();
  return count;
}
