// Record <-> wire mapping: camelCase records and Dates inside, snake_case JSON and ISO strings outside.
import type {
  AttemptResource,
  BackoffPolicy,
  CreateTaskBody,
  CreateTemplateBody,
  TaskEventResource,
  TaskResource,
  TemplateResource,
  UpdateTaskBody,
  UpdateTemplateBody,
  WorkerResource,
  WorkflowResource,
  WorkflowStepBody,
  WorkflowSummaryResource,
} from '@taskwire/contracts';
import type { AttemptSummary } from './history.js';
import type {
  Backoff,
  TaskEventRecord,
  TaskRecord,
  TemplateRecord,
  WorkerRecord,
  WorkflowRecord,
  WorkflowStepRecord,
} from '../store/types.js';
import { AppError } from './errors.js';
import { checkJsonText } from './json-text.js';
import type { TaskInput, TaskUpdateInput } from './tasks.js';
import type { TemplateInput } from './templates.js';
import type { WorkflowInput } from './workflows.js';

/** The last instant iso() wrote: a new task's created, queued and updated times are one instant. */
let lastMs = Number.NaN;
let lastIso = '';

/** d.toISOString(), at most once per distinct instant in a row (it costs a small POST's answer µs). */
function iso(d: Date): string {
  const ms = d.getTime();
  if (ms !== lastMs) {
    lastIso = d.toISOString(); // an invalid Date throws here, as before (NaN never equals lastMs)
    lastMs = ms;
  }
  return lastIso;
}
const isoOrNull = (d: Date | null): string | null => (d ? iso(d) : null);

export function backoffToWire(b: Backoff): BackoffPolicy {
  return { initial_ms: b.initialMs, factor: b.factor, max_ms: b.maxMs, jitter: b.jitter };
}

export function backoffFromWire(b: Partial<BackoffPolicy>): Partial<Backoff> {
  const out: Partial<Backoff> = {};
  if (b.initial_ms !== undefined) out.initialMs = b.initial_ms;
  if (b.factor !== undefined) out.factor = b.factor;
  if (b.max_ms !== undefined) out.maxMs = b.max_ms;
  if (b.jitter !== undefined) out.jitter = b.jitter;
  return out;
}

export function templateToWire(t: TemplateRecord, nextFireTimes?: Date[]): TemplateResource {
  const wire: TemplateResource = {
    id: t.id,
    name: t.name,
    description: t.description,
    executor: t.executor,
    queue: t.queue,
    param_schema: t.paramSchema,
    result_schema: t.resultSchema,
    default_params: t.defaultParams,
    cron_expression: t.cronExpression,
    cron_timezone: t.cronTimezone,
    enabled: t.enabled,
    max_attempts: t.maxAttempts,
    backoff: backoffToWire(t.backoff),
    timeout_ms: t.timeoutMs,
    missed_fire_policy: t.missedFirePolicy,
    overlap_policy: t.overlapPolicy,
    workflow: (t.workflow as TemplateResource['workflow']) ?? null,
    retention_days: t.retentionDays,
    priority: t.priority,
    paused: t.paused,
    concurrency_key: t.concurrencyKey,
    concurrency_limit: t.concurrencyLimit,
    created_at: iso(t.createdAt),
    updated_at: iso(t.updatedAt),
  };
  if (nextFireTimes) wire.next_fire_times = nextFireTimes.map(iso);
  return wire;
}

/** A task as the API shows it; a workflow step also shows its workflow_id and step_key. */
export function taskToWire(t: TaskRecord, step?: WorkflowStepRecord): TaskResource {
  return {
    ...taskFields(t),
    ...(step ? { workflow_id: step.workflowId, step_key: step.stepKey } : {}),
  };
}

function taskFields(t: TaskRecord): TaskResource {
  return {
    id: t.id,
    template_id: t.templateId,
    name: t.name,
    description: t.description,
    queue: t.queue,
    params: t.params,
    status: t.status,
    result: t.result ?? null,
    error: t.error,
    attempt: t.attempt,
    max_attempts: t.maxAttempts,
    backoff: t.backoff ? backoffToWire(t.backoff) : null,
    run_at: isoOrNull(t.runAt),
    next_attempt_at: isoOrNull(t.nextAttemptAt),
    timeout_ms: t.timeoutMs,
    idempotency_key: t.idempotencyKey,
    trigger: t.trigger,
    scheduled_for: isoOrNull(t.scheduledFor),
    worker_id: t.workerId,
    priority: t.priority,
    concurrency_key: t.concurrencyKey,
    created_at: iso(t.createdAt),
    queued_at: isoOrNull(t.queuedAt),
    started_at: isoOrNull(t.startedAt),
    finished_at: isoOrNull(t.finishedAt),
    updated_at: iso(t.updatedAt),
  };
}

export function eventToWire(e: TaskEventRecord): TaskEventResource {
  return {
    id: e.id ?? 0,
    task_id: e.taskId,
    attempt: e.attempt,
    type: e.type,
    at: iso(e.at),
    worker_id: e.workerId,
    data: e.data ?? null,
  };
}

/** One attempt of a task's history, as GET /tasks/{id}/events shows it beside the events. */
export function attemptToWire(a: AttemptSummary): AttemptResource {
  return {
    attempt: a.attempt,
    worker_id: a.workerId,
    queued_at: a.queuedAt ? iso(a.queuedAt) : null,
    started_at: a.startedAt ? iso(a.startedAt) : null,
    finished_at: a.finishedAt ? iso(a.finishedAt) : null,
    duration_ms: a.durationMs,
    outcome: a.outcome,
    error: a.error,
    executions: a.executions,
  };
}

/** A worker is alive while its last heartbeat is recent and it has not announced its shutdown. */
export function workerToWire(w: WorkerRecord, now: Date, deadAfterMs: number): WorkerResource {
  return {
    id: w.id,
    host: w.host,
    pid: w.pid,
    queues: w.queues,
    executors: w.executors,
    concurrency: w.concurrency,
    running: w.running,
    version: w.version,
    started_at: iso(w.startedAt),
    last_seen: iso(w.lastSeen),
    alive: w.stoppedAt === null && now.getTime() - w.lastSeen.getTime() < deadAfterMs,
  };
}

/**
 * A JSON object given as an object or as a JSON string of one (the Go service took strings).
 * `null` passes through when `nullable`. Throws bad_request naming the field.
 */
export function jsonObjectField(
  value: unknown,
  field: string,
  nullable: true,
): Record<string, unknown> | null | undefined;
export function jsonObjectField(
  value: unknown,
  field: string,
  nullable: false,
): Record<string, unknown> | undefined;
export function jsonObjectField(
  value: unknown,
  field: string,
  nullable: boolean,
): Record<string, unknown> | null | undefined {
  if (value === undefined) return undefined;
  if (value === null && nullable) return null;
  let v = value;
  if (typeof v === 'string') {
    const problem = checkJsonText(v);
    if (problem) {
      throw AppError.badRequest(`${field} is refused: ${problem.message}`, [
        { path: `/${field}`, message: problem.message, ...problem.detail },
      ]);
    }
    try {
      v = JSON.parse(v);
    } catch (err) {
      throw AppError.badRequest(`${field} is a string but not valid JSON: ${(err as Error).message}`, [
        { path: `/${field}`, message: 'must be a JSON object or a JSON string of one' },
      ]);
    }
    if (v === null && nullable) return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw AppError.badRequest(`${field} must be a JSON object (or a JSON string of one)`, [
      { path: `/${field}`, message: 'must be a JSON object or a JSON string of one' },
    ]);
  }
  return v as Record<string, unknown>;
}

function copyDefined<T extends object>(target: T, source: Partial<T>): T {
  // for-in over an object literal: no array of entries per call (POST /tasks maps one per request).
  for (const k in source) {
    const v = source[k];
    if (v !== undefined) (target as Record<string, unknown>)[k] = v;
  }
  return target;
}

/** A POST/PUT /templates body (already checked against its request schema) as a TemplateInput. */
export function templateInputFromWire(body: CreateTemplateBody | UpdateTemplateBody): TemplateInput {
  const executor = body.executor ?? body.executor_type;
  if (
    body.executor !== undefined &&
    body.executor_type !== undefined &&
    body.executor !== body.executor_type
  ) {
    throw AppError.badRequest(
      `executor ${JSON.stringify(body.executor)} and its alias executor_type ${JSON.stringify(body.executor_type)} differ`,
      [{ path: '/executor_type', message: 'must equal executor when both are given' }],
    );
  }
  return copyDefined<TemplateInput>(
    {},
    {
      name: body.name,
      description: body.description,
      executor,
      queue: body.queue,
      paramSchema: jsonObjectField(body.param_schema, 'param_schema', true),
      resultSchema: jsonObjectField(body.result_schema, 'result_schema', true),
      defaultParams: jsonObjectField(body.default_params, 'default_params', true),
      cronExpression: body.cron_expression,
      cronTimezone: body.cron_timezone,
      enabled: body.enabled,
      maxAttempts: body.max_attempts,
      backoff: body.backoff ? backoffFromWire(body.backoff) : undefined,
      timeoutMs: body.timeout_ms,
      missedFirePolicy: body.missed_fire_policy,
      overlapPolicy: body.overlap_policy,
      workflow: body.workflow as TemplateInput['workflow'],
      retentionDays: body.retention_days,
      priority: body.priority,
      paused: body.paused,
      concurrencyKey: body.concurrency_key,
      concurrencyLimit: body.concurrency_limit,
    },
  );
}

/** A POST /tasks body (or one /tasks/batch item), already checked against its request schema. */
export function taskInputFromWire(body: CreateTaskBody): TaskInput {
  return copyDefined<TaskInput>(
    {},
    {
      templateId: body.task_template_id,
      templateName: body.template_name,
      params: jsonObjectField(body.params, 'params', true) ?? undefined,
      name: body.name,
      description: body.description,
      runAt: typeof body.run_at === 'string' ? new Date(body.run_at) : undefined,
      idempotencyKey: body.idempotency_key,
      maxAttempts: body.max_attempts,
      timeoutMs: body.timeout_ms,
      backoff: body.backoff ? backoffFromWire(body.backoff) : undefined,
      priority: body.priority,
      concurrencyKey: body.concurrency_key,
    },
  );
}

/** A PUT /tasks/{id} body. `error` may be a plain message string (Go service) or a WireError object. */
export function taskUpdateFromWire(body: UpdateTaskBody): TaskUpdateInput {
  const out: TaskUpdateInput = {};
  if (body.status !== undefined) out.status = body.status;
  if ('result' in body) out.result = body.result;
  if (body.error !== undefined) {
    const e = body.error;
    out.error =
      e === null
        ? null
        : typeof e === 'string'
          ? { message: e, retryable: false }
          : { retryable: false, ...e };
  }
  return out;
}

export function workflowSummaryToWire(w: WorkflowRecord): WorkflowSummaryResource {
  return {
    id: w.id,
    name: w.name,
    status: w.status,
    on_failure: w.onFailure,
    workflow_template_id: w.workflowTemplateId,
    steps_total: w.stepsTotal,
    steps_finished: w.stepsFinished,
    steps_completed: w.stepsCompleted,
    created_at: iso(w.createdAt),
    updated_at: iso(w.updatedAt),
    finished_at: isoOrNull(w.finishedAt),
  };
}

export function workflowToWire(
  w: WorkflowRecord,
  steps: ReadonlyArray<{ step: WorkflowStepRecord; task: TaskRecord }>,
): WorkflowResource {
  return {
    ...workflowSummaryToWire(w),
    steps: steps.map(({ step, task }) => ({
      key: step.stepKey,
      task_id: task.id,
      status: task.status,
      depends_on: step.dependsOn,
      attempt: task.attempt,
      error: task.error,
      queued_at: isoOrNull(task.queuedAt),
      started_at: isoOrNull(task.startedAt),
      finished_at: isoOrNull(task.finishedAt),
    })),
  };
}

/** The steps of a POST /workflows body or of a workflow template's `workflow`, as domain input. */
export function workflowStepsFromWire(steps: readonly WorkflowStepBody[]): WorkflowInput['steps'] {
  return steps.map((s) => ({
    key: s.key,
    templateId: s.task_template_id,
    templateName: s.template_name,
    params: s.params,
    dependsOn: s.depends_on,
    priority: s.priority,
    maxAttempts: s.max_attempts,
    timeoutMs: s.timeout_ms,
  }));
}
