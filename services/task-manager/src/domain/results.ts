// Applies worker results to tasks: the lifecycle, retries and result_schema checks, idempotent by (task id, attempt).
import { formatAjvErrors } from '@taskwire/contracts';
import type { ResultMessage, TaskStatus, WireError } from '@taskwire/contracts';
import type { SchemaCompiler } from '@taskwire/json-schema';
import type { TaskEventRecord, TaskPatch, TaskRecord, TemplateRecord } from '../store/types.js';
import type { DomainDeps } from './deps.js';
import { decideRetry } from './retry.js';
import { schemaCompiler } from './schemas.js';
import { loadTaskTemplates } from './task-templates.js';

/** What one batch changed, for logs and for the caller's wake-ups. */
export interface ApplyOutcome {
  applied: number;
  ignored: number;
  /** Earliest next_attempt_at among retries scheduled by this batch. */
  earliestRetryAt: Date | null;
}

const ACTIVE_RUN: readonly TaskStatus[] = ['QUEUED', 'RUNNING'];

interface Working {
  task: TaskRecord;
  /** Status and attempt as read from the store: the compare-and-set guard of the final update. */
  guard: { status: TaskStatus; attempt: number };
  patch: TaskPatch | null;
}

/**
 * Applies a batch of result messages in one unit of work. Messages for the same task apply in order.
 * A message for another attempt than the task's current one, or one that would move the status
 * backwards, is recorded as an `ignored` event and changes nothing else; an exact redelivery of a
 * result already applied (same attempt, same outcome) changes nothing at all.
 */
export async function applyResults(
  deps: DomainDeps,
  messages: readonly ResultMessage[],
): Promise<ApplyOutcome> {
  if (messages.length === 0) return { applied: 0, ignored: 0, earliestRetryAt: null };
  return deps.store.unitOfWork(async (tx) => {
    const ids = [...new Set(messages.map((m) => m.task_id))];
    const tasks = new Map<string, Working>();
    for (const task of await tx.getTasks(ids)) {
      tasks.set(task.id, { task, guard: { status: task.status, attempt: task.attempt }, patch: null });
    }
    const templates = await loadTaskTemplates(
      tx,
      [...tasks.values()].map((w) => w.task),
    );
    const events: TaskEventRecord[] = [];
    const outcome: ApplyOutcome = { applied: 0, ignored: 0, earliestRetryAt: null };
    const now = deps.clock.now();

    for (const msg of messages) {
      const w = tasks.get(msg.task_id);
      if (!w) {
        deps.logger.warn({ taskId: msg.task_id, attempt: msg.attempt }, 'result for an unknown task ignored');
        outcome.ignored++;
        continue;
      }
      const template = templates.get(w.task.templateId) ?? null;
      const verdict = applyOne(w, msg, template, now, events, schemaCompiler(deps));
      if (verdict === 'applied') outcome.applied++;
      else if (verdict === 'ignored') {
        outcome.ignored++;
        events.push(
          event(msg, 'ignored', { result_type: msg.type, status: w.task.status, attempt: w.task.attempt }),
        );
      }
      const retryAt = w.task.status === 'RETRYING' ? w.task.nextAttemptAt : null;
      if (retryAt && (!outcome.earliestRetryAt || retryAt < outcome.earliestRetryAt)) {
        outcome.earliestRetryAt = retryAt;
      }
    }

    for (const w of tasks.values()) {
      if (!w.patch) continue;
      const changed = await tx.updateTask(w.task.id, w.patch, {
        status: [w.guard.status],
        attempt: w.guard.attempt,
      });
      if (!changed) {
        // Another replica moved the task meanwhile; its change wins and ours is dropped with a trace.
        deps.logger.warn({ taskId: w.task.id }, 'task changed concurrently; result not applied');
      }
    }
    if (events.length > 0) await tx.insertEvents(events);
    return outcome;
  });
}

type Verdict = 'applied' | 'ignored' | 'duplicate';

function applyOne(
  w: Working,
  msg: ResultMessage,
  template: TemplateRecord | null,
  now: Date,
  events: TaskEventRecord[],
  schemas: SchemaCompiler,
): Verdict {
  const task = w.task;
  if (msg.attempt !== task.attempt) return 'ignored';
  const at = new Date(msg.at);
  const set = (patch: TaskPatch): void => {
    Object.assign(task, patch);
    w.patch = { ...(w.patch ?? {}), ...patch, updatedAt: now };
  };
  // A terminal result of a run whose `started` message the worker never sent (the task ended
  // first) carries started_at: record the start as a `started` message would have.
  const startImplicitly = (): void => {
    if (msg.started_at === undefined || task.status !== 'QUEUED') return;
    const startedAt = new Date(msg.started_at);
    set({ status: 'RUNNING', startedAt, workerId: msg.worker_id });
    events.push({ ...event(msg, 'started', {}), at: startedAt });
  };

  switch (msg.type) {
    case 'started': {
      if (task.status === 'RUNNING' && task.workerId === msg.worker_id) return 'duplicate';
      // RUNNING under another worker: the first worker died and the attempt was redelivered.
      if (task.status !== 'QUEUED' && task.status !== 'RUNNING') return 'ignored';
      set({ status: 'RUNNING', startedAt: at, workerId: msg.worker_id });
      events.push(event(msg, 'started', {}));
      return 'applied';
    }
    case 'progress':
    case 'log': {
      if (!ACTIVE_RUN.includes(task.status)) return 'ignored';
      const data = msg.type === 'progress' ? { pct: msg.pct, message: msg.message } : { line: msg.message };
      events.push(event(msg, msg.type, data));
      return 'applied';
    }
    case 'succeeded': {
      if (task.status === 'COMPLETED') return 'duplicate';
      if (!ACTIVE_RUN.includes(task.status)) return 'ignored';
      startImplicitly();
      const violation = checkResult(template, msg.result, schemas);
      if (violation) return finishFailed(w, msg, violation, template, now, set, events);
      set({
        status: 'COMPLETED',
        result: msg.result ?? null,
        error: null,
        finishedAt: at,
        workerId: msg.worker_id,
      });
      events.push(event(msg, 'succeeded', { duration_ms: durationMs(task, at) }));
      return 'applied';
    }
    case 'failed':
    case 'timed_out': {
      if (task.status === 'FAILED' || task.status === 'TIMED_OUT' || task.status === 'RETRYING')
        return 'duplicate';
      if (!ACTIVE_RUN.includes(task.status)) return 'ignored';
      startImplicitly();
      const error: WireError = msg.error ?? { message: 'no error given', retryable: true };
      return finishFailed(w, msg, error, template, now, set, events);
    }
    case 'canceled': {
      if (task.status === 'CANCELED') return 'duplicate';
      if (!ACTIVE_RUN.includes(task.status)) return 'ignored';
      startImplicitly();
      set({ status: 'CANCELED', finishedAt: at, workerId: msg.worker_id, error: msg.error ?? null });
      events.push(event(msg, 'canceled', { duration_ms: durationMs(task, at) }));
      return 'applied';
    }
  }
}

function finishFailed(
  w: Working,
  msg: ResultMessage,
  error: WireError,
  template: TemplateRecord | null,
  now: Date,
  set: (patch: TaskPatch) => void,
  events: TaskEventRecord[],
): Verdict {
  const task = w.task;
  const at = new Date(msg.at);
  const timedOut = msg.type === 'timed_out';
  // A timeout counts as a failed attempt and is retryable unless the worker said otherwise.
  const decision = decideRetry(task, template, error.retryable, now);
  const finalStatus: TaskStatus = timedOut ? 'TIMED_OUT' : 'FAILED';
  events.push(event(msg, timedOut ? 'timed_out' : 'failed', { error, duration_ms: durationMs(task, at) }));
  if (decision.retry && decision.nextAttemptAt) {
    set({
      status: 'RETRYING',
      error,
      finishedAt: at,
      nextAttemptAt: decision.nextAttemptAt,
      workerId: msg.worker_id,
    });
    events.push(event(msg, 'retry_scheduled', { next_attempt_at: decision.nextAttemptAt.toISOString() }));
  } else {
    set({ status: finalStatus, error, finishedAt: at, workerId: msg.worker_id });
  }
  return 'applied';
}

/**
 * Null when the result matches the template's result_schema (or there is none). A stored schema
 * the compiler now refuses (SCHEMA_MAX_* lowered since) fails the task instead of throwing: a throw
 * here would fail the whole batch and redeliver it forever.
 */
function checkResult(
  template: TemplateRecord | null,
  result: unknown,
  schemas: SchemaCompiler,
): WireError | null {
  if (!template?.resultSchema) return null;
  const { validate, error } = schemas.tryCompile(template.resultSchema, 'result_schema');
  if (!validate) {
    return {
      message: `result_schema of template ${template.name} cannot be used: ${error.message}`,
      code: 'invalid_schema',
      retryable: false,
    };
  }
  if (validate(result ?? null)) return null;
  return {
    message: `result does not match the result_schema of template ${template.name}: ${formatAjvErrors(validate.errors)}`,
    code: 'result_schema_violation',
    retryable: false,
    data: { errors: validate.errors ?? [] },
  };
}

function durationMs(task: TaskRecord, end: Date): number | null {
  return task.startedAt ? end.getTime() - task.startedAt.getTime() : null;
}

function event(msg: ResultMessage, type: TaskEventRecord['type'], data: unknown): TaskEventRecord {
  return {
    taskId: msg.task_id,
    attempt: msg.attempt,
    type,
    at: new Date(msg.at),
    workerId: msg.worker_id,
    data,
  };
}
