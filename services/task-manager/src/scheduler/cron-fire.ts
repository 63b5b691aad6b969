// One cron fire: the task row (QUEUED), its created + queued events and outbox row, in one unit of work.
import type { StoreOps, TaskRecord, TemplateRecord } from '../store/types.js';
import type { DomainDeps } from '../domain/deps.js';
import { isCronActive, overlapBlocksFire } from '../domain/cron.js';
import { admissionGate, queueOrWait } from '../domain/admission.js';
import { concurrencyKeyOf } from '../domain/concurrency-key.js';
import { newId } from '../domain/ids.js';
import { fireWorkflowTemplate } from '../domain/workflows.js';

export type FireOutcome =
  /** This replica created the task for the fire time. */
  | 'created'
  /** Another replica (or an earlier catch-up) already created it: the unique key said no. */
  | 'duplicate'
  /** overlap_policy skip and a task of the template is still in flight. */
  | 'overlap'
  /** The template changed, was disabled or deleted since this replica last read it. */
  | 'stale';

/** The task a cron fire creates: the template's default params, QUEUED (admission may make it WAITING). */
export function cronTaskFor(template: TemplateRecord, fireTime: Date, now: Date): TaskRecord {
  const params = template.defaultParams ?? {};
  return {
    id: newId(now.getTime()),
    templateId: template.id,
    name: template.name,
    description: template.description,
    queue: template.queue,
    params,
    status: 'QUEUED',
    result: null,
    error: null,
    attempt: 1,
    maxAttempts: template.maxAttempts,
    backoff: null,
    runAt: null,
    nextAttemptAt: null,
    timeoutMs: template.timeoutMs,
    idempotencyKey: null,
    trigger: 'cron',
    scheduledFor: fireTime,
    workerId: null,
    createdAt: now,
    queuedAt: now,
    startedAt: null,
    finishedAt: null,
    updatedAt: now,
    dispatchPartition: null,
    dispatchOffset: null,
    priority: template.priority,
    concurrencyKey: concurrencyKeyOf(undefined, template.concurrencyKey, params),
  };
}

/** Whether the template's previous run is unfinished: a task, or for a workflow template a RUNNING workflow. */
async function inFlight(tx: StoreOps, template: TemplateRecord): Promise<boolean> {
  if (!template.workflow) return tx.hasActiveTask(template.id);
  const running = await tx.listWorkflows({ status: ['RUNNING'], workflowTemplateId: template.id, limit: 1 });
  return running.length > 0;
}

export interface Fire {
  /** The template as this replica last read it. */
  template: TemplateRecord;
  fireTime: Date;
}

/**
 * Creates the task for each fire, exactly once across replicas: the unique (template_id,
 * scheduled_for) key decides, and only the replica whose insert won writes the events and the outbox
 * row. All fires share one unit of work (templates firing at the same instant cost one commit), in
 * template-id order so that replicas taking the same row locks on MySQL take them in the same order.
 * Each template is re-read inside the unit of work so that a replica that has not yet noticed a
 * change made elsewhere (disable, delete, new expression) does not fire on stale data.
 */
export async function fireCrons(deps: DomainDeps, fires: readonly Fire[]): Promise<FireOutcome[]> {
  const ordered = fires
    .map((fire, index) => ({ fire, index }))
    .sort((a, b) =>
      a.fire.template.id < b.fire.template.id ? -1 : a.fire.template.id > b.fire.template.id ? 1 : 0,
    );
  const waitingQueues: string[] = [];
  const outcomes = await deps.store.unitOfWork(async (tx) => {
    waitingQueues.length = 0;
    const ids = [...new Set(fires.map((f) => f.template.id))];
    const current = new Map((await tx.getTemplates(ids)).map((t) => [t.id, t]));
    const result: FireOutcome[] = new Array<FireOutcome>(fires.length);
    for (const { fire, index } of ordered) {
      result[index] = await fireOne(tx, deps, fire, current.get(fire.template.id) ?? null, waitingQueues);
    }
    return result;
  });
  if (outcomes.includes('created')) {
    if (deps.metrics) {
      const now = deps.clock.now().getTime();
      const created = fires.filter((_, i) => outcomes[i] === 'created');
      deps.metrics.tasksCreated(created.map((f) => ({ template: f.template.name, queue: f.template.queue })));
      for (const f of created) deps.metrics.cronFired(Math.max(0, now - f.fireTime.getTime()));
    }
    deps.signals.outboxWritten();
  }
  for (const q of new Set(waitingQueues)) deps.signals.admit?.(q);
  return outcomes;
}

async function fireOne(
  tx: StoreOps,
  deps: DomainDeps,
  { template: cached, fireTime }: Fire,
  template: TemplateRecord | null,
  waitingQueues: string[],
): Promise<FireOutcome> {
  if (
    !template ||
    !isCronActive(template) ||
    template.cronExpression !== cached.cronExpression ||
    template.cronTimezone !== cached.cronTimezone
  ) {
    return 'stale';
  }
  if (template.overlapPolicy === 'skip' && overlapBlocksFire(template, await inFlight(tx, template))) {
    return 'overlap';
  }
  // A workflow template starts a whole workflow; (template, fire time) is unique among workflows too.
  if (template.workflow)
    return (await fireWorkflowTemplate(tx, deps, template, fireTime)) ? 'created' : 'duplicate';
  const now = deps.clock.now();
  // Admitted before the insert (queued at once if its queue has room), so the row goes in in its status.
  const gate = admissionGate(tx, now);
  const task = cronTaskFor(template, fireTime, now);
  if ((await gate.reasonFor(task, template)) !== null) task.status = 'WAITING';
  if (!(await tx.insertTaskIfAbsent(task))) return 'duplicate';
  await tx.insertEvents([
    {
      taskId: task.id,
      attempt: 1,
      type: 'created',
      at: now,
      workerId: null,
      data: { trigger: 'cron', scheduled_for: fireTime.toISOString() },
    },
  ]);
  await queueOrWait(tx, task, template, now, deps.settings, { gate, insert: true });
  if (task.status === 'WAITING') waitingQueues.push(task.queue);
  return 'created';
}
