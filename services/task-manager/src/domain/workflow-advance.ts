// What follows when steps of a workflow end, inside the unit of work that ended them: dependants
// released and admitted ($refs resolved, params re-checked), failures cancelling what can no longer
// run (fail_fast: everything), the workflow's counters and final status.
//
// Cost: one read of the step rows of the tasks that ended (every caller pays it, one indexed IN
// per batch), then per finished step one UPDATE of its dependants' counters and one read of those
// dependants. The whole step list is read only when a step fails for good. So a workflow of N
// steps costs O(N) queries to run, never a query per step per tick (nothing polls).
import { TERMINAL_STATUSES, formatAjvErrors } from '@taskwire/contracts';
import type { TaskStatus, WireError } from '@taskwire/contracts';
import type {
  StoreOps,
  TaskEventRecord,
  TaskRecord,
  TemplateRecord,
  WorkflowRecord,
  WorkflowStepRecord,
} from '../store/types.js';
import { cancelReadTask } from './cancel-core.js';
import type { DomainDeps } from './deps.js';
import { queueOrWait } from './admission.js';
import { failForGood } from './dispatch.js';
import type { EndedRun } from './metrics-hooks.js';
import { schemaCompiler } from './schemas.js';
import { loadTaskTemplates } from './task-templates.js';
import { downstreamOf, findRefs, substituteRefs } from './workflow-dag.js';
import { workflowEvent } from './workflow-events.js';

/** What a unit of work must do after its commit: wake the relay and the admission loop, report ended runs. */
export interface StepEffects {
  outbox: boolean;
  ended: EndedRun[];
  /** Queues where a step went WAITING: the admission loop runs for them after the commit. */
  waiting: string[];
}

export const noStepEffects = (): StepEffects => ({ outbox: false, ended: [], waiting: [] });

/** Adds `more` (effects of a later step in the same unit of work) to `effects`. */
export function mergeStepEffects(effects: StepEffects, more: StepEffects): void {
  effects.outbox ||= more.outbox;
  effects.ended.push(...more.ended);
  effects.waiting.push(...more.waiting);
}

/**
 * After the commit: wakes the relay for queued steps and the admission loop for the queues where
 * steps went WAITING (queueOrWait's contract), so they do not wait for the periodic sweep.
 */
export function signalStepEffects(signals: DomainDeps['signals'], effects: StepEffects | null): void {
  if (!effects) return;
  if (effects.outbox) signals.outboxWritten();
  for (const queue of new Set(effects.waiting)) signals.admit?.(queue);
}

type Deps = Pick<DomainDeps, 'clock' | 'logger' | 'settings' | 'schemas'>;

/** A step that ended; `followed` when it was canceled here, as a consequence already decided. */
interface Ended {
  step: WorkflowStepRecord;
  task: TaskRecord;
  followed?: true;
}

const ACTIVE: readonly TaskStatus[] = ['PENDING', 'WAITING', 'QUEUED', 'RUNNING', 'RETRYING'];
const isFinished = (s: TaskStatus) => TERMINAL_STATUSES.includes(s);

/**
 * THE one place a workflow step is handed to the dispatch path (PENDING, or finished and re-run by
 * a workflow retry with `newAttempt`): queue admission's queueOrWait, so steps obey priorities,
 * max_in_flight, pauses and concurrency keys like any task. Records in `effects` what the caller
 * signals after its commit: an outbox row when it was queued, its queue when it went WAITING.
 */
export async function admitStep(
  tx: StoreOps,
  deps: Deps,
  task: TaskRecord,
  template: TemplateRecord,
  step: WorkflowStepRecord,
  now: Date,
  effects: StepEffects,
  opts: { newAttempt?: boolean } = {},
): Promise<void> {
  const outcome = await queueOrWait(tx, task, template, now, deps.settings, {
    newAttempt: opts.newAttempt,
    eventData: { workflow_id: step.workflowId, step_key: step.stepKey },
  });
  if (outcome === 'queued') effects.outbox = true;
  else if (outcome === 'waiting') effects.waiting.push(task.queue);
}

/**
 * Call in the unit of work that moved `ended` tasks to a terminal status (tasks in their new state;
 * others are ignored). Tasks that are no workflow step cost one indexed read per call.
 */
export async function onTasksEnded(
  tx: StoreOps,
  deps: Deps,
  ended: readonly TaskRecord[],
): Promise<StepEffects> {
  const effects = noStepEffects();
  const finished = ended.filter((t) => isFinished(t.status));
  if (finished.length === 0) return effects;
  const steps = await tx.getStepsOfTasks(finished.map((t) => t.id));
  if (steps.length === 0) return effects;
  const taskById = new Map(finished.map((t) => [t.id, t]));
  const byWorkflow = new Map<string, Array<{ step: WorkflowStepRecord; task: TaskRecord }>>();
  for (const step of steps) {
    const list = byWorkflow.get(step.workflowId) ?? [];
    list.push({ step, task: taskById.get(step.taskId)! });
    byWorkflow.set(step.workflowId, list);
  }
  for (const [workflowId, items] of byWorkflow) await advance(tx, deps, workflowId, items, effects);
  return effects;
}

/** Ends in this workflow, processed until nothing more follows; then the workflow may finish. */
async function advance(
  tx: StoreOps,
  deps: Deps,
  workflowId: string,
  first: Ended[],
  effects: StepEffects,
): Promise<void> {
  const now = deps.clock.now();
  let items = first;
  let wf: WorkflowRecord | null = null;
  while (items.length > 0) {
    const completed = items.filter((i) => i.task.status === 'COMPLETED');
    const failed = items.filter((i) => i.task.status !== 'COMPLETED' && !i.followed);
    wf = await tx.addWorkflowProgress(
      workflowId,
      { finished: items.length, completed: completed.length },
      now,
    );
    if (!wf) return;
    const next: Ended[] = [];

    // Dependants' counters move whatever the workflow's status, so that a retry finds them right.
    const released = new Set<string>();
    for (const { step } of completed) {
      if (step.dependants.length === 0) continue;
      await tx.releaseDependants(workflowId, step.dependants);
      for (const k of step.dependants) released.add(k);
    }

    let stopped = wf.status !== 'RUNNING';
    if (!stopped && failed.length > 0) {
      next.push(...(await cancelUnreachable(tx, deps, wf, failed, effects)));
    }
    // fail_fast once any step ended otherwise than COMPLETED (the counters say so): nothing new is
    // admitted, even when a sibling that was running completes after the failure.
    if (wf.onFailure === 'fail_fast' && wf.stepsFinished > wf.stepsCompleted) stopped = true;
    if (!stopped && released.size > 0) {
      const ready = (await tx.getWorkflowStepsByKey(workflowId, [...released])).filter(
        (s) => s.depsRemaining === 0,
      );
      const tasks = (await tx.getTasks(ready.map((s) => s.taskId))).filter((t) => t.status === 'PENDING');
      next.push(...(await admitReady(tx, deps, workflowId, tasks, ready, now, effects)));
    }
    items = next;
  }
  if (wf && wf.status === 'RUNNING' && wf.stepsFinished >= wf.stepsTotal) {
    const status = wf.stepsCompleted >= wf.stepsTotal ? 'COMPLETED' : 'FAILED';
    if (
      await tx.updateWorkflow(wf.id, { status, finishedAt: now, updatedAt: now }, { status: ['RUNNING'] })
    ) {
      await tx.insertEvents([
        workflowEvent(wf.id, status === 'COMPLETED' ? 'workflow_completed' : 'workflow_failed', now, {
          steps: wf.stepsTotal,
          completed: wf.stepsCompleted,
        }),
      ]);
      deps.logger.info({ workflowId: wf.id, status }, 'workflow finished');
    }
  }
}

/**
 * After steps failed for good: the steps that can no longer run (fail_fast: every unfinished step,
 * running ones asked to stop; continue: the failed steps' dependants, transitively) are canceled
 * with the failed step named. Returns the steps that ended here.
 */
async function cancelUnreachable(
  tx: StoreOps,
  deps: Deps,
  wf: WorkflowRecord,
  failed: Ended[],
  effects: StepEffects,
): Promise<Ended[]> {
  const steps = await tx.listWorkflowSteps(wf.id);
  const failedKeys = failed.map((f) => f.step.stepKey);
  const dependants = new Map(steps.map((s) => [s.stepKey, s.dependants]));
  const unreachable = downstreamOf(failedKeys, dependants);
  const candidates = wf.onFailure === 'fail_fast' ? steps : steps.filter((s) => unreachable.has(s.stepKey));
  if (candidates.length === 0) return [];
  const tasks = new Map((await tx.getTasks(candidates.map((s) => s.taskId))).map((t) => [t.id, t]));
  const first = failed[0]!;
  const ended: Ended[] = [];
  for (const step of candidates) {
    const task = tasks.get(step.taskId);
    if (!task || !ACTIVE.includes(task.status)) continue;
    const cause = unreachable.has(step.stepKey)
      ? `it depends on step "${first.step.stepKey}", which ended ${first.task.status}`
      : `step "${first.step.stepKey}" ended ${first.task.status} and the workflow is fail_fast`;
    const error: WireError = {
      message: `step "${step.stepKey}" of workflow ${wf.id} was canceled: ${cause}`,
      code: 'workflow_step_failed',
      retryable: false,
      data: { failed_step: first.step.stepKey, failed_status: first.task.status },
    };
    const done = await cancelReadTask(tx, deps, task, {
      error,
      data: { reason: cause, failed_step: first.step.stepKey, workflow_id: wf.id },
    });
    if (!done.done) continue;
    if (done.outbox) effects.outbox = true;
    if (done.ended) effects.ended.push(done.ended);
    if (done.task.status === 'CANCELED') ended.push({ step, task: done.task, followed: true });
  }
  return ended;
}

/**
 * Admits steps whose dependencies all COMPLETED: $refs replaced from the named steps' results (one
 * read for all of them), params checked against the template's param_schema, then admitStep. A ref
 * that does not resolve, or params that no longer match, fail the step for good naming the ref and
 * the step; those are returned as ended.
 */
export async function admitReady(
  tx: StoreOps,
  deps: Deps,
  workflowId: string,
  tasks: readonly TaskRecord[],
  steps: readonly WorkflowStepRecord[],
  now: Date,
  effects: StepEffects,
  opts: { newAttempt?: boolean } = {},
): Promise<Array<{ step: WorkflowStepRecord; task: TaskRecord }>> {
  if (tasks.length === 0) return [];
  const stepOf = new Map(steps.map((s) => [s.taskId, s]));
  const refKeys = new Set<string>();
  for (const t of tasks) for (const r of findRefs(t.params)) if (r.parsed) refKeys.add(r.parsed.step);
  const results = new Map<string, unknown>();
  if (refKeys.size > 0) {
    const refSteps = await tx.getWorkflowStepsByKey(workflowId, [...refKeys]);
    const keyOf = new Map(refSteps.map((s) => [s.taskId, s.stepKey]));
    for (const t of await tx.getTasks(refSteps.map((s) => s.taskId))) {
      if (t.status === 'COMPLETED') results.set(keyOf.get(t.id)!, t.result);
    }
  }
  const templates = await loadTaskTemplates(tx, tasks);
  const ended: Array<{ step: WorkflowStepRecord; task: TaskRecord }> = [];
  const events: TaskEventRecord[] = [];
  for (const task of tasks) {
    const step = stepOf.get(task.id)!;
    const template = templates.get(task.templateId);
    let problem: WireError | null = null;
    let params = task.params;
    const hasRefs = findRefs(task.params).length > 0;
    if (!template) {
      problem = { message: `step "${step.stepKey}": template ${task.templateId} is gone`, retryable: false };
    } else if (hasRefs) {
      try {
        params = substituteRefs(task.params, results);
      } catch (err) {
        problem = {
          message: `step "${step.stepKey}": ${(err as Error).message}`,
          code: 'workflow_ref_unresolved',
          retryable: false,
        };
      }
      if (!problem && template.paramSchema) {
        const { validate, error } = schemaCompiler(deps).tryCompile(template.paramSchema, 'param_schema');
        if (!validate) {
          problem = {
            message: `step "${step.stepKey}": ${error.message}`,
            code: 'invalid_schema',
            retryable: false,
          };
        } else if (!validate(params)) {
          problem = {
            message:
              `step "${step.stepKey}": params resolved from $refs do not match the param_schema of template ` +
              `${JSON.stringify(template.name)}: ${formatAjvErrors(validate.errors)}`,
            code: 'params_schema_violation',
            retryable: false,
            data: { errors: validate.errors ?? [] },
          };
        }
      }
    }
    if (problem || !template) {
      const event = await failForGood(tx, task, problem!, now);
      if (!event) continue;
      events.push(event);
      Object.assign(task, { status: 'FAILED', error: problem, finishedAt: now, updatedAt: now });
      ended.push({ step, task });
      continue;
    }
    if (hasRefs) {
      const changed = await tx.updateTask(
        task.id,
        { params },
        { status: [task.status], attempt: task.attempt },
      );
      if (!changed) continue;
      task.params = params;
    }
    await admitStep(tx, deps, task, template, step, now, effects, opts);
  }
  if (events.length > 0) await tx.insertEvents(events);
  return ended;
}
