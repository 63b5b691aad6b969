// Applies worker results to tasks: the lifecycle, retries and result_schema checks, idempotent by (task id, attempt).
import { formatAjvErrors } from '@taskwire/contracts';
import type { ResultMessage, TaskStatus, WireError } from '@taskwire/contracts';
import type { SchemaCompiler } from '@taskwire/json-schema';
import type { TaskEventRecord, TaskPatch, TaskRecord, TemplateRecord } from '../store/types.js';
import type { DomainDeps } from './deps.js';
import { DEFAULT_PAYLOAD_LIMITS, jsonBytes } from './limits.js';
import type { PayloadLimits } from './limits.js';
import { decideRetry } from './retry.js';
import { schemaCompiler } from './schemas.js';
import { endedRun } from './metrics-hooks.js';
import type { EndedRun } from './metrics-hooks.js';
import { loadTaskTemplates } from './task-templates.js';
import { admitFreed } from './admission.js';
import { onTasksEnded } from './workflow-advance.js';

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
  /**
   * Worker-clock epoch ms at which the current run started, when this batch saw it (a `started`
   * message or a terminal result's started_at), with the `started` event written for it.
   */
  workerStart: { at: number; event: TaskEventRecord } | null;
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
  const { outcome, ended, outbox, waiting, admitted, more } = await deps.store.unitOfWork(async (tx) => {
    const ids = [...new Set(messages.map((m) => m.task_id))];
    const tasks = new Map<string, Working>();
    for (const task of await tx.getTasks(ids)) {
      tasks.set(task.id, {
        task,
        guard: { status: task.status, attempt: task.attempt },
        patch: null,
        workerStart: null,
      });
    }
    const templates = await loadTaskTemplates(
      tx,
      [...tasks.values()].map((w) => w.task),
    );
    const events: TaskEventRecord[] = [];
    const outcome: ApplyOutcome = { applied: 0, ignored: 0, earliestRetryAt: null };
    const now = deps.clock.now();
    const limits = deps.settings.limits ?? DEFAULT_PAYLOAD_LIMITS;

    for (const msg of messages) {
      const w = tasks.get(msg.task_id);
      if (!w) {
        deps.logger.warn({ taskId: msg.task_id, attempt: msg.attempt }, 'result for an unknown task ignored');
        outcome.ignored++;
        continue;
      }
      const template = templates.get(w.task.templateId) ?? null;
      const verdict = applyOne(w, msg, template, now, limits, events, schemaCompiler(deps));
      if (verdict === 'applied') outcome.applied++;
      else if (verdict === 'ignored') {
        outcome.ignored++;
        events.push(
          event(msg, now, 'ignored', {
            result_type: msg.type,
            status: w.task.status,
            attempt: w.task.attempt,
          }),
        );
      }
      const retryAt = w.task.status === 'RETRYING' ? w.task.nextAttemptAt : null;
      if (retryAt && (!outcome.earliestRetryAt || retryAt < outcome.earliestRetryAt)) {
        outcome.earliestRetryAt = retryAt;
      }
    }

    const ended: EndedRun[] = [];
    const finished: TaskRecord[] = [];
    /** Queues where slots freed: the keys whose slots they were, or null when an unkeyed one freed too. */
    const freed = new Map<string, Set<string> | null>();
    const patched = [...tasks.values()].filter((w): w is Working & { patch: TaskPatch } => w.patch !== null);
    // One batch for all of them: on MySQL a locking read and an UPDATE per patch shape, not a round trip each.
    const applied = await tx.updateTasks(
      patched.map((w) => ({
        id: w.task.id,
        patch: w.patch,
        guard: { status: [w.guard.status], attempt: w.guard.attempt },
      })),
    );
    for (const w of patched) {
      const changed = applied.has(w.task.id);
      if (!changed) {
        // Another replica moved the task meanwhile; its change wins and ours is dropped with a trace.
        deps.logger.warn({ taskId: w.task.id }, 'task changed concurrently; result not applied');
      } else if (w.patch.finishedAt) {
        ended.push(endedRun(w.task, templates.get(w.task.templateId)?.name));
        finished.push(w.task);
      }
      // Out of QUEUED/RUNNING (finished, or RETRYING): its admission slot is free.
      if (changed && !ACTIVE_RUN.includes(w.task.status)) {
        const key = w.task.concurrencyKey;
        const keys = freed.has(w.task.queue) ? freed.get(w.task.queue)! : new Set<string>();
        freed.set(w.task.queue, key === null || keys === null ? null : keys.add(key));
      }
    }
    if (events.length > 0) await tx.insertEvents(events);
    // The freed slots go to the next waiting tasks now, in this unit (the pass the admission loop
    // would run next, under the same queue lock): no transaction, wake-up or relay round of their own.
    const { admitted, more } = await admitFreed(tx, deps.settings, freed, now);
    // Steps of workflows: dependants released and admitted, failures followed, in this same unit.
    const effects = await onTasksEnded(tx, deps, finished);
    ended.push(...effects.ended);
    return { outcome, ended, outbox: effects.outbox, waiting: effects.waiting, admitted, more };
  });
  // After the commit, once per batch: a unit of work re-run after a deadlock must not count twice.
  if (ended.length > 0) deps.metrics?.runsEnded(ended);
  if (outbox || admitted > 0) deps.signals.outboxWritten();
  // Queues where the pass here left work (a key may wait lower, slots left) or where released workflow
  // steps went WAITING: the admission loop goes on.
  for (const q of new Set([...more, ...waiting])) deps.signals.admit?.(q);
  return outcome;
}

type Verdict = 'applied' | 'ignored' | 'duplicate';

/**
 * Times on the task and its events come from the manager's clock (`now`, when the message is
 * applied): the watchdog compares started_at with the manager's clock, so a worker whose clock is
 * off must not make a live task look overdue. The worker's own time is kept in the event data
 * (`worker_at`). When a batch sees both ends of a run, the start is placed the worker-measured
 * duration before the end, so durations stay exact even when both messages are applied at once.
 */
function applyOne(
  w: Working,
  msg: ResultMessage,
  template: TemplateRecord | null,
  now: Date,
  limits: PayloadLimits,
  events: TaskEventRecord[],
  schemas: SchemaCompiler,
): Verdict {
  const task = w.task;
  if (msg.attempt !== task.attempt) return 'ignored';
  const set = (patch: TaskPatch): void => {
    Object.assign(task, patch);
    // In place: a result sets fields two or three times, and this runs for every result.
    w.patch = Object.assign(w.patch ?? {}, patch);
    w.patch.updatedAt = now;
  };
  const started = (workerAt: number): void => {
    const startEvent = event(msg, now, 'started', {}, workerAt);
    set({ status: 'RUNNING', startedAt: now, workerId: msg.worker_id });
    events.push(startEvent);
    w.workerStart = { at: workerAt, event: startEvent };
  };
  // A terminal result of a run whose `started` message the worker never sent (the task ended
  // first) carries started_at: record the start as a `started` message would have.
  const startImplicitly = (): void => {
    if (msg.started_at === undefined || task.status !== 'QUEUED') return;
    started(msg.started_at);
  };
  /** Ends the run at `now`; a start seen in this batch moves back by the worker-measured duration. */
  const finish = (patch: TaskPatch): void => {
    if (w.workerStart) {
      const startedAt = new Date(now.getTime() - Math.max(0, msg.at - w.workerStart.at));
      w.workerStart.event.at = startedAt;
      set({ startedAt });
    }
    set({ ...patch, finishedAt: now, workerId: msg.worker_id });
  };

  switch (msg.type) {
    case 'started': {
      if (task.status === 'RUNNING' && task.workerId === msg.worker_id) return 'duplicate';
      // RUNNING under another worker: the first worker died and the attempt was redelivered.
      if (task.status !== 'QUEUED' && task.status !== 'RUNNING') return 'ignored';
      started(msg.at);
      return 'applied';
    }
    case 'progress':
    case 'log': {
      if (!ACTIVE_RUN.includes(task.status)) return 'ignored';
      const data = msg.type === 'progress' ? { pct: msg.pct, message: msg.message } : { line: msg.message };
      events.push(event(msg, now, msg.type, data, msg.at));
      return 'applied';
    }
    case 'succeeded': {
      if (task.status === 'COMPLETED') return 'duplicate';
      if (!ACTIVE_RUN.includes(task.status)) return 'ignored';
      startImplicitly();
      const violation =
        tooLarge(msg.result, limits.resultBytes, 'result', 'MAX_RESULT_BYTES') ??
        checkResult(template, msg.result, schemas);
      if (violation) return finishFailed(w, msg, violation, template, now, finish, events);
      finish({ status: 'COMPLETED', result: msg.result ?? null, error: null });
      events.push(event(msg, now, 'succeeded', { duration_ms: durationMs(task) }, msg.at));
      return 'applied';
    }
    case 'failed':
    case 'timed_out': {
      if (task.status === 'FAILED' || task.status === 'TIMED_OUT' || task.status === 'RETRYING')
        return 'duplicate';
      if (!ACTIVE_RUN.includes(task.status)) return 'ignored';
      startImplicitly();
      const error: WireError = boundError(
        msg.error ?? { message: 'no error given', retryable: true },
        limits,
      );
      return finishFailed(w, msg, error, template, now, finish, events);
    }
    case 'canceled': {
      if (task.status === 'CANCELED') return 'duplicate';
      if (!ACTIVE_RUN.includes(task.status)) return 'ignored';
      startImplicitly();
      finish({ status: 'CANCELED', error: msg.error ? boundError(msg.error, limits) : null });
      events.push(event(msg, now, 'canceled', { duration_ms: durationMs(task) }, msg.at));
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
  finish: (patch: TaskPatch) => void,
  events: TaskEventRecord[],
): Verdict {
  const task = w.task;
  const timedOut = msg.type === 'timed_out';
  // A timeout counts as a failed attempt and is retryable unless the worker said otherwise.
  const decision = decideRetry(task, template, error.retryable, now);
  const finalStatus: TaskStatus = timedOut ? 'TIMED_OUT' : 'FAILED';
  if (decision.retry && decision.nextAttemptAt) {
    finish({ status: 'RETRYING', error, nextAttemptAt: decision.nextAttemptAt });
  } else {
    finish({ status: finalStatus, error });
  }
  events.push(
    event(msg, now, timedOut ? 'timed_out' : 'failed', { error, duration_ms: durationMs(task) }, msg.at),
  );
  if (decision.retry && decision.nextAttemptAt) {
    events.push(
      event(msg, now, 'retry_scheduled', { next_attempt_at: decision.nextAttemptAt.toISOString() }),
    );
  }
  return 'applied';
}

/** A non-retryable error when `value` is larger than `limit` bytes of JSON (the same value would fail again). */
function tooLarge(value: unknown, limit: number, what: string, variable: string): WireError | null {
  const bytes = jsonBytes(value);
  if (bytes <= limit) return null;
  return {
    message: `the ${what} is ${bytes} bytes of JSON, more than the ${limit} bytes allowed (${variable})`,
    code: `${what}_too_large`,
    retryable: false,
    data: { bytes, limit },
  };
}

/** An error larger than MAX_ERROR_BYTES keeps its verdict and the start of its message, not its data. */
function boundError(error: WireError, limits: PayloadLimits): WireError {
  const bytes = jsonBytes(error);
  if (bytes <= limits.errorBytes) return error;
  const keep = Math.max(0, Math.floor(limits.errorBytes / 4) - 200);
  const bounded: WireError = {
    message: `${error.message.slice(0, keep)}… (error of ${bytes} bytes cut to MAX_ERROR_BYTES=${limits.errorBytes})`,
    retryable: error.retryable,
  };
  if (error.code !== undefined) bounded.code = error.code.slice(0, 200);
  return bounded;
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

/** Run time in the manager's clock (the start was placed by the worker-measured duration when known). */
function durationMs(task: TaskRecord): number | null {
  return task.startedAt && task.finishedAt ? task.finishedAt.getTime() - task.startedAt.getTime() : null;
}

/** An event at the manager's `now`; `workerAt` (the worker's clock) is kept in its data. */
function event(
  msg: ResultMessage,
  now: Date,
  type: TaskEventRecord['type'],
  data: Record<string, unknown>,
  workerAt?: number,
): TaskEventRecord {
  return {
    taskId: msg.task_id,
    attempt: msg.attempt,
    type,
    at: now,
    workerId: msg.worker_id,
    data: workerAt === undefined ? data : { ...data, worker_at: workerAt },
  };
}
