// Workflow rules: create (graph, templates and params checked, one unit of work), read, list, cancel, retry.
import { MAX_WORKFLOW_STEPS, TERMINAL_STATUSES } from '@taskwire/contracts';
import type { ErrorDetail } from '@taskwire/contracts';
import type {
  StoreOps,
  TaskEventRecord,
  TaskRecord,
  TemplateRecord,
  WorkflowOnFailure,
  WorkflowRecord,
  WorkflowStatus,
  WorkflowStepRecord,
} from '../store/types.js';
import type { WorkflowStepBody } from '@taskwire/contracts';
import { cancelReadTask } from './cancel-core.js';
import { workflowStepsFromWire } from './mappers.js';
import type { DomainDeps } from './deps.js';
import { concurrencyKeyOf } from './concurrency-key.js';
import { AppError } from './errors.js';
import { ULID_PATTERN, newId } from './ids.js';
import { DEFAULT_PAYLOAD_LIMITS, jsonBytes } from './limits.js';
import { ajvDetails, compileSchema, schemaCompiler } from './schemas.js';
import { decodeCursor, encodeCursor } from './tasks.js';
import {
  admitReady,
  admitStep,
  mergeStepEffects,
  noStepEffects,
  onTasksEnded,
  signalStepEffects,
} from './workflow-advance.js';
import type { StepEffects } from './workflow-advance.js';
import { checkDag, dependantsOf, findRefs } from './workflow-dag.js';
import { workflowEvent } from './workflow-events.js';

export interface WorkflowStepInput {
  key: string;
  templateId?: string;
  templateName?: string;
  params?: Record<string, unknown>;
  dependsOn?: string[];
  /** 0–9, the step task's priority (default: its template's). */
  priority?: number;
  maxAttempts?: number;
  timeoutMs?: number;
}

export interface WorkflowInput {
  name: string;
  steps: WorkflowStepInput[];
  onFailure?: WorkflowOnFailure;
  /** Set when started from a workflow template. */
  workflowTemplateId?: string;
}

export interface WorkflowView {
  workflow: WorkflowRecord;
  steps: Array<{ step: WorkflowStepRecord; task: TaskRecord }>;
}

/**
 * Creates a workflow: nothing is written unless every step is valid. Checks, each naming its step:
 * the graph (keys, depends_on, cycles, $refs to ancestors; 400), the templates (400), params merged
 * over default_params against param_schema (422; a step with $refs is checked when it becomes
 * runnable). Then in one unit of work: the workflow, a PENDING task per step, the step rows, and
 * the steps without dependencies admitted at once.
 */
export async function createWorkflow(deps: DomainDeps, input: WorkflowInput): Promise<WorkflowView> {
  const prepared = await prepareWorkflow(deps, deps.store, input, null);
  const written = await deps.store.unitOfWork((tx) => writeWorkflow(tx, deps, prepared));
  return finishCreate(deps, prepared, written!);
}

/**
 * Starts the workflow of workflow template `templateId` (POST /workflows {workflow_template_id}),
 * named `name` or after the template.
 */
export async function startWorkflowTemplate(
  deps: DomainDeps,
  templateId: string,
  name?: string,
): Promise<WorkflowView> {
  const template = await deps.store.getTemplate(templateId);
  if (!template) throw AppError.notFound('template', templateId);
  if (!template.workflow) {
    throw AppError.badRequest(
      `template ${JSON.stringify(template.name)} is not a workflow template (it has executor ${JSON.stringify(template.executor)}): create tasks of it with POST /tasks`,
      [{ path: '/workflow_template_id', message: 'not a workflow template' }],
    );
  }
  return createWorkflow(deps, { ...workflowInputOf(template), ...(name ? { name } : {}) });
}

/** The input a workflow template stands for. */
function workflowInputOf(template: TemplateRecord): WorkflowInput {
  const spec = template.workflow!;
  return {
    name: template.name,
    steps: workflowStepsFromWire(spec.steps as unknown as WorkflowStepBody[]),
    onFailure: spec.on_failure,
    workflowTemplateId: template.id,
  };
}

/**
 * A cron fire of a workflow template, inside the fire's unit of work: the workflow is inserted
 * unless one exists for (template, fire time), the exactly-once key across replicas. Returns
 * whether this call started it; a workflow that is no longer valid (a step's template deleted…)
 * is logged and skipped.
 */
export async function fireWorkflowTemplate(
  tx: StoreOps,
  deps: DomainDeps,
  template: TemplateRecord,
  fireTime: Date,
): Promise<boolean> {
  let prepared: Prepared;
  try {
    prepared = await prepareWorkflow(deps, tx, workflowInputOf(template), fireTime);
  } catch (err) {
    deps.logger.error(
      { err, templateId: template.id, scheduledFor: fireTime.toISOString() },
      'cron fire of a workflow template skipped: its workflow is not valid now',
    );
    return false;
  }
  const written = await writeWorkflow(tx, deps, prepared);
  if (!written) return false;
  signalStepEffects(deps.signals, written.effects);
  return true;
}

interface Prepared {
  workflow: WorkflowRecord;
  tasks: TaskRecord[];
  stepRows: WorkflowStepRecord[];
  templates: TemplateRecord[];
}

/** Everything checked, the rows built; nothing written. `ops` reads the templates. */
async function prepareWorkflow(
  deps: DomainDeps,
  ops: StoreOps,
  input: WorkflowInput,
  scheduledFor: Date | null,
): Promise<Prepared> {
  const { steps } = input;
  if (steps.length === 0 || steps.length > MAX_WORKFLOW_STEPS) {
    throw AppError.badRequest(`a workflow has 1 to ${MAX_WORKFLOW_STEPS} steps, not ${steps.length}`, [
      { path: '/steps', message: `must have 1 to ${MAX_WORKFLOW_STEPS} items` },
    ]);
  }
  checkDag(steps.map((s) => ({ key: s.key, dependsOn: s.dependsOn ?? [], params: s.params ?? {} })));
  const templates = await resolveStepTemplates(ops, steps);
  const now = deps.clock.now();
  const limits = deps.settings.limits ?? DEFAULT_PAYLOAD_LIMITS;
  const compiler = schemaCompiler(deps);
  const problems: ErrorDetail[] = [];
  const params = steps.map((s, i) => {
    const template = templates[i]!;
    const merged = { ...template.defaultParams, ...s.params };
    const bytes = jsonBytes(merged);
    if (bytes > limits.paramsBytes) {
      problems.push({
        path: `/steps/${i}/params`,
        step: s.key,
        message: `step "${s.key}": params are ${bytes} bytes of JSON, more than the ${limits.paramsBytes} allowed (MAX_PARAMS_BYTES)`,
      });
    } else if (template.paramSchema && findRefs(merged).length === 0) {
      const validate = compileSchema(compiler, template.paramSchema, 'param_schema');
      if (!validate(merged)) {
        for (const d of ajvDetails(validate.errors, `/steps/${i}/params`)) {
          problems.push({ ...d, step: s.key, message: `step "${s.key}": ${d.path} ${d.message}` });
        }
      }
    }
    return merged;
  });
  if (problems.length > 0) {
    throw new AppError(
      'validation_failed',
      `params do not match their templates' param_schema: ${problems
        .slice(0, 5)
        .map((p) => p.message)
        .join('; ')}`,
      problems,
    );
  }

  const workflow: WorkflowRecord = {
    id: newId(now.getTime()),
    name: input.name,
    status: 'RUNNING',
    onFailure: input.onFailure ?? 'fail_fast',
    workflowTemplateId: input.workflowTemplateId ?? null,
    scheduledFor,
    stepsTotal: steps.length,
    stepsFinished: 0,
    stepsCompleted: 0,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
  };
  const dependants = dependantsOf(
    steps.map((s) => ({ key: s.key, dependsOn: s.dependsOn ?? [], params: null })),
  );
  const tasks: TaskRecord[] = steps.map((s, i) => {
    const template = templates[i]!;
    return {
      id: newId(now.getTime()),
      templateId: template.id,
      name: `${input.name}/${s.key}`.slice(0, 255),
      description: null,
      queue: template.queue,
      params: params[i],
      status: 'PENDING',
      result: null,
      error: null,
      attempt: 1,
      maxAttempts: s.maxAttempts ?? template.maxAttempts,
      backoff: null,
      runAt: null,
      nextAttemptAt: null,
      timeoutMs: s.timeoutMs ?? template.timeoutMs,
      idempotencyKey: null,
      trigger: scheduledFor ? 'cron' : 'api',
      scheduledFor: null,
      workerId: null,
      createdAt: now,
      queuedAt: null,
      startedAt: null,
      finishedAt: null,
      updatedAt: now,
      dispatchPartition: null,
      dispatchOffset: null,
      priority: s.priority ?? template.priority,
      concurrencyKey: concurrencyKeyOf(undefined, template.concurrencyKey, params[i]),
    };
  });
  const stepRows: WorkflowStepRecord[] = steps.map((s, i) => ({
    taskId: tasks[i]!.id,
    workflowId: workflow.id,
    stepKey: s.key,
    position: i,
    dependsOn: s.dependsOn ?? [],
    dependants: dependants.get(s.key) ?? [],
    depsRemaining: (s.dependsOn ?? []).length,
  }));

  return { workflow, tasks, stepRows, templates };
}

/** Writes a prepared workflow in the caller's unit of work; null when its cron fire already has one. */
async function writeWorkflow(
  tx: StoreOps,
  deps: DomainDeps,
  { workflow, tasks, stepRows, templates }: Prepared,
): Promise<{ effects: StepEffects; rows: TaskRecord[] } | null> {
  // Fresh copies: a unit of work re-run after a MySQL deadlock starts from the records as built.
  const rows = tasks.map((t) => ({ ...t }));
  if (!(await tx.insertWorkflow(workflow, stepRows))) return null;
  await tx.insertTasks(rows);
  const trigger = workflow.scheduledFor ? 'cron' : 'api';
  const events: TaskEventRecord[] = rows.map((t, i) => ({
    taskId: t.id,
    attempt: 1,
    type: 'created',
    at: workflow.createdAt,
    workerId: null,
    data: { trigger, workflow_id: workflow.id, step_key: stepRows[i]!.stepKey },
  }));
  events.push(
    workflowEvent(workflow.id, 'workflow_started', workflow.createdAt, {
      name: workflow.name,
      steps: rows.length,
      trigger,
      ...(workflow.workflowTemplateId ? { workflow_template_id: workflow.workflowTemplateId } : {}),
      ...(workflow.scheduledFor ? { scheduled_for: workflow.scheduledFor.toISOString() } : {}),
    }),
  );
  await tx.insertEvents(events);
  const effects = noStepEffects();
  for (let i = 0; i < rows.length; i++) {
    if (stepRows[i]!.depsRemaining > 0) continue;
    await admitStep(tx, deps, rows[i]!, templates[i]!, stepRows[i]!, workflow.createdAt, effects);
  }
  return { effects, rows };
}

function finishCreate(
  deps: DomainDeps,
  { workflow, stepRows, templates }: Prepared,
  written: { effects: StepEffects; rows: TaskRecord[] },
): WorkflowView {
  signalStepEffects(deps.signals, written.effects);
  deps.metrics?.tasksCreated(written.rows.map((t, i) => ({ template: templates[i]!.name, queue: t.queue })));
  deps.logger.info({ workflowId: workflow.id, steps: stepRows.length }, 'workflow created');
  return { workflow, steps: stepRows.map((step, i) => ({ step, task: written.rows[i]! })) };
}

/** Each step's live template (by id or name), or one 400 listing every step whose template is unknown. */
async function resolveStepTemplates(
  ops: StoreOps,
  steps: readonly WorkflowStepInput[],
): Promise<TemplateRecord[]> {
  const ids = [...new Set(steps.flatMap((s) => (s.templateId !== undefined ? [s.templateId] : [])))];
  const byId = new Map((await ops.getTemplates(ids)).filter((t) => !t.deletedAt).map((t) => [t.id, t]));
  const byName = new Map<string, TemplateRecord | null>();
  for (const s of steps) {
    if (s.templateId !== undefined || s.templateName === undefined || byName.has(s.templateName)) continue;
    const t = await ops.getTemplateByName(s.templateName);
    byName.set(s.templateName, t && !t.deletedAt ? t : null);
  }
  const problems: ErrorDetail[] = [];
  const out = steps.map((s, i) => {
    let t: TemplateRecord | null | undefined = null;
    if (s.templateId !== undefined) {
      t = byId.get(s.templateId);
      if (!t)
        problems.push({
          path: `/steps/${i}/task_template_id`,
          step: s.key,
          message: `step "${s.key}": template ${JSON.stringify(s.templateId)} does not exist`,
        });
      else if (s.templateName !== undefined && s.templateName !== t.name) {
        problems.push({
          path: `/steps/${i}/template_name`,
          step: s.key,
          message: `step "${s.key}": template_name ${JSON.stringify(s.templateName)} is not the name of template ${s.templateId}`,
        });
      }
    } else if (s.templateName !== undefined) {
      t = byName.get(s.templateName);
      if (!t)
        problems.push({
          path: `/steps/${i}/template_name`,
          step: s.key,
          message: `step "${s.key}": template named ${JSON.stringify(s.templateName)} does not exist`,
        });
    } else {
      problems.push({
        path: `/steps/${i}`,
        step: s.key,
        message: `step "${s.key}": task_template_id or template_name is required`,
      });
    }
    return t ?? null;
  });
  if (problems.length > 0) {
    throw AppError.badRequest(
      `invalid workflow: ${problems
        .slice(0, 5)
        .map((p) => p.message)
        .join('; ')}`,
      problems,
    );
  }
  return out as TemplateRecord[];
}

export async function getWorkflow(deps: DomainDeps, id: string): Promise<WorkflowView> {
  return readWorkflow(deps.store, id);
}

async function readWorkflow(ops: StoreOps, id: string): Promise<WorkflowView> {
  const workflow = ULID_PATTERN.test(id) ? await ops.getWorkflow(id) : null;
  if (!workflow) throw AppError.notFound('workflow', id);
  const steps = await ops.listWorkflowSteps(id);
  const tasks = new Map((await ops.getTasks(steps.map((s) => s.taskId))).map((t) => [t.id, t]));
  return {
    workflow,
    steps: steps.flatMap((step) => {
      const task = tasks.get(step.taskId);
      return task ? [{ step, task }] : [];
    }),
  };
}

export async function listWorkflowEvents(deps: DomainDeps, id: string): Promise<TaskEventRecord[]> {
  const workflow = ULID_PATTERN.test(id) ? await deps.store.getWorkflow(id) : null;
  if (!workflow) throw AppError.notFound('workflow', id);
  return deps.store.listEvents(id);
}

export interface WorkflowQuery {
  status?: WorkflowStatus[];
  name?: string;
  cursor?: string;
  limit: number;
}

/** Newest first, paged like GET /tasks (the cursor is the last id of the page). */
export async function listWorkflows(
  deps: DomainDeps,
  q: WorkflowQuery,
): Promise<{ items: WorkflowRecord[]; nextCursor: string | null }> {
  const rows = await deps.store.listWorkflows({
    status: q.status,
    name: q.name,
    beforeId: q.cursor === undefined ? undefined : decodeCursor(q.cursor),
    limit: q.limit + 1,
  });
  const items = rows.slice(0, q.limit);
  const more = rows.length > q.limit;
  return { items, nextCursor: more ? encodeCursor(items[items.length - 1]!.id) : null };
}

/** The workflow and step key of each task that is a step (GET /tasks shows them). */
export async function stepsOfTasks(
  deps: DomainDeps,
  taskIds: readonly string[],
): Promise<Map<string, WorkflowStepRecord>> {
  if (taskIds.length === 0) return new Map();
  return new Map((await deps.store.getStepsOfTasks(taskIds)).map((s) => [s.taskId, s]));
}

/**
 * Cancels a RUNNING workflow: it is CANCELED at once; its unfinished steps are canceled through the
 * task cancel path (running ones are asked to stop and end when their worker reports). Canceling a
 * CANCELED workflow returns it unchanged; a COMPLETED or FAILED one → 409.
 */
export async function cancelWorkflow(deps: DomainDeps, id: string): Promise<WorkflowView> {
  const { view, effects } = await deps.store.unitOfWork(async (tx) => {
    const wf = ULID_PATTERN.test(id) ? await tx.getWorkflow(id) : null;
    if (!wf) throw AppError.notFound('workflow', id);
    const effects = noStepEffects();
    if (wf.status === 'CANCELED') return { view: await readWorkflow(tx, id), effects };
    if (wf.status !== 'RUNNING') {
      throw new AppError(
        'invalid_transition',
        `workflow ${id} is ${wf.status}; only a RUNNING workflow can be canceled`,
        {
          status: wf.status,
        },
      );
    }
    const now = deps.clock.now();
    if (
      !(await tx.updateWorkflow(
        id,
        { status: 'CANCELED', finishedAt: now, updatedAt: now },
        { status: ['RUNNING'] },
      ))
    ) {
      throw AppError.conflict(`workflow ${id} changed while being canceled; try again`);
    }
    await tx.insertEvents([workflowEvent(id, 'workflow_canceled', now, {})]);
    const { steps } = await readWorkflow(tx, id);
    const ended: TaskRecord[] = [];
    for (const { task } of steps) {
      if (TERMINAL_STATUSES.includes(task.status)) continue;
      const done = await cancelReadTask(tx, deps, task, {
        error: { message: `workflow ${id} was canceled`, code: 'workflow_canceled', retryable: false },
        data: { workflow_id: id, reason: 'workflow canceled' },
      });
      if (!done.done) continue;
      if (done.outbox) effects.outbox = true;
      if (done.ended) effects.ended.push(done.ended);
      if (done.task.status === 'CANCELED') ended.push(done.task);
    }
    mergeStepEffects(effects, await onTasksEnded(tx, deps, ended));
    return { view: await readWorkflow(tx, id), effects };
  });
  afterCommit(deps, effects);
  return view;
}

/**
 * Re-runs a FAILED or CANCELED workflow whose steps have all finished: the steps that did not
 * complete (failed, timed out, canceled, and so their dependants) run again as new attempts; the
 * COMPLETED ones are kept with their results. Steps whose dependencies are all COMPLETED are
 * admitted at once, the others wait (PENDING) as on the first run.
 */
export async function retryWorkflow(deps: DomainDeps, id: string): Promise<WorkflowView> {
  const { view, effects } = await deps.store.unitOfWork(async (tx) => {
    const wf = ULID_PATTERN.test(id) ? await tx.getWorkflow(id) : null;
    if (!wf) throw AppError.notFound('workflow', id);
    if (wf.status !== 'FAILED' && wf.status !== 'CANCELED') {
      throw new AppError(
        'invalid_transition',
        `workflow ${id} is ${wf.status}; only a FAILED or CANCELED workflow can be retried`,
        {
          status: wf.status,
        },
      );
    }
    if (wf.stepsFinished < wf.stepsTotal) {
      throw AppError.conflict(
        `workflow ${id} still has ${wf.stepsTotal - wf.stepsFinished} unfinished steps (being canceled); retry when they have ended`,
      );
    }
    const now = deps.clock.now();
    const { steps } = await readWorkflow(tx, id);
    const rerun = steps.filter(({ task }) => task.status !== 'COMPLETED');
    const rerunKeys = new Set(rerun.map(({ step }) => step.stepKey));
    const changed = await tx.updateWorkflow(
      id,
      { status: 'RUNNING', finishedAt: null, updatedAt: now, stepsFinished: wf.stepsFinished - rerun.length },
      { status: [wf.status] },
    );
    if (!changed) throw AppError.conflict(`workflow ${id} changed while being retried; try again`);
    await tx.insertEvents([
      workflowEvent(id, 'workflow_retried', now, { from: wf.status, steps: rerun.length }),
    ]);
    const ready: Array<{ step: WorkflowStepRecord; task: TaskRecord }> = [];
    const events: TaskEventRecord[] = [];
    for (const item of rerun) {
      const { step, task } = item;
      const waiting = step.dependsOn.filter((k) => rerunKeys.has(k)).length;
      if (waiting !== step.depsRemaining) {
        await tx.setDepsRemaining(step.taskId, waiting);
        step.depsRemaining = waiting;
      }
      // The new attempt must be allowed by max_attempts, as for POST /tasks/{id}/retry.
      const maxAttempts = Math.max(task.maxAttempts, task.attempt + 1);
      if (waiting === 0) {
        if (maxAttempts !== task.maxAttempts) {
          await tx.updateTask(task.id, { maxAttempts }, { status: [task.status], attempt: task.attempt });
          task.maxAttempts = maxAttempts;
        }
        ready.push(item);
        continue;
      }
      // Waits for its dependencies again; a new attempt number so a late result of the old one is ignored.
      const patch = {
        status: 'PENDING' as const,
        attempt: task.attempt + 1,
        maxAttempts,
        runAt: null,
        nextAttemptAt: null,
        error: null,
        result: null,
        queuedAt: null,
        startedAt: null,
        finishedAt: null,
        workerId: null,
        updatedAt: now,
      };
      if (!(await tx.updateTask(task.id, patch, { status: [task.status], attempt: task.attempt }))) {
        throw AppError.conflict(
          `step "${step.stepKey}" of workflow ${id} changed while being retried; try again`,
        );
      }
      events.push({
        taskId: task.id,
        attempt: patch.attempt,
        type: 'updated',
        at: now,
        workerId: null,
        data: { from: task.status, to: 'PENDING', workflow_retry: id },
      });
    }
    if (events.length > 0) await tx.insertEvents(events);
    const effects = noStepEffects();
    const failed = await admitReady(
      tx,
      deps,
      id,
      ready.map((r) => r.task),
      ready.map((r) => r.step),
      now,
      effects,
      { newAttempt: true },
    );
    const more = await onTasksEnded(
      tx,
      deps,
      failed.map((f) => f.task),
    );
    mergeStepEffects(effects, more);
    return { view: await readWorkflow(tx, id), effects };
  });
  afterCommit(deps, effects);
  return view;
}

function afterCommit(deps: DomainDeps, effects: StepEffects): void {
  if (effects.ended.length > 0) deps.metrics?.runsEnded(effects.ended);
  signalStepEffects(deps.signals, effects);
}
