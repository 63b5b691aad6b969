// The watchdog rule: a RUNNING task far past its deadline lost its worker; time it out and maybe retry.
import type { TaskStatus, WireError } from '@taskwire/contracts';
import type { TaskEventRecord, TaskRecord } from '../store/types.js';
import type { DomainDeps } from './deps.js';
import { endedRun } from './metrics-hooks.js';
import type { EndedRun } from './metrics-hooks.js';
import { decideRetry } from './retry.js';
import { loadTaskTemplates } from './task-templates.js';
import { onTasksEnded, signalStepEffects } from './workflow-advance.js';
import type { StepEffects } from './workflow-advance.js';

/**
 * How long past started_at + timeout_ms the watchdog waits before it declares a worker gone. The
 * worker itself aborts the executor at the deadline and reports `timed_out`; this margin leaves
 * room for that report (and a Kafka hiccup) so the watchdog only acts on workers that vanished.
 */
export const TIMEOUT_GRACE_MS = 30_000;

/** Whether `task` is RUNNING and more than `graceMs` past its own deadline at `now`. */
export function isOverdue(task: TaskRecord, now: Date, graceMs: number): boolean {
  // Only RUNNING counts: a QUEUED task may legitimately wait in a Kafka backlog, and its
  // dispatch message carries its own deadline that the worker checks before starting it.
  if (task.status !== 'RUNNING' || task.startedAt === null) return false;
  return task.startedAt.getTime() + task.timeoutMs + graceMs < now.getTime();
}

export interface WatchdogOutcome {
  /** Overdue RUNNING tasks this pass timed out (retried or not). */
  timedOut: number;
  /** Of those, how many were scheduled for another attempt. */
  retried: number;
  /** Earliest next_attempt_at among the retries, for the due loop. */
  earliestRetryAt: Date | null;
  /** Rows the store returned: a full page means there may be more. */
  scanned: number;
}

/**
 * One watchdog pass over at most `limit` overdue tasks, in one unit of work. Each move is a
 * compare-and-set on (RUNNING, attempt), so a result that lands meanwhile, or another replica's
 * watchdog, wins cleanly and this pass skips the task. A late result for the timed-out attempt is
 * then ignored by the result consumer because its attempt is no longer current (or the task is
 * no longer QUEUED/RUNNING).
 */
export async function timeOutOverdueTasks(
  deps: DomainDeps,
  opts: { graceMs?: number; limit?: number } = {},
): Promise<WatchdogOutcome> {
  const graceMs = opts.graceMs ?? TIMEOUT_GRACE_MS;
  const limit = opts.limit ?? 200;
  const now = deps.clock.now();
  let ended: EndedRun[] = [];
  let steps: StepEffects | null = null;
  const outcome = await deps.store.unitOfWork(async (tx) => {
    ended = [];
    steps = null;
    const finished: TaskRecord[] = [];
    const listed = await tx.listOverdueTasks(now, graceMs, limit);
    const result: WatchdogOutcome = {
      timedOut: 0,
      retried: 0,
      earliestRetryAt: null,
      scanned: listed.length,
    };
    const overdue = listed.filter((t) => isOverdue(t, now, graceMs));
    if (overdue.length === 0) return result;
    const templates = await loadTaskTemplates(tx, overdue);
    const events: TaskEventRecord[] = [];
    for (const task of overdue) {
      const template = templates.get(task.templateId) ?? null;
      const error: WireError = {
        message:
          `task ${task.id} attempt ${task.attempt} was still RUNNING ${graceMs} ms past its timeout of ` +
          `${task.timeoutMs} ms (worker ${task.workerId ?? 'unknown'} presumed gone)`,
        code: 'watchdog_timeout',
        retryable: true,
      };
      const decision = decideRetry(task, template, true, now);
      const status: TaskStatus = decision.retry ? 'RETRYING' : 'TIMED_OUT';
      const changed = await tx.updateTask(
        task.id,
        { status, error, finishedAt: now, updatedAt: now, nextAttemptAt: decision.nextAttemptAt ?? null },
        { status: ['RUNNING'], attempt: task.attempt },
      );
      if (!changed) continue;
      result.timedOut++;
      ended.push(endedRun({ ...task, status, finishedAt: now }, template?.name));
      if (status === 'TIMED_OUT') finished.push({ ...task, status, error, finishedAt: now, updatedAt: now });
      const base = { taskId: task.id, attempt: task.attempt, at: now, workerId: task.workerId };
      events.push({ ...base, type: 'timed_out', data: { error, by: 'watchdog', grace_ms: graceMs } });
      if (decision.retry && decision.nextAttemptAt) {
        result.retried++;
        events.push({
          ...base,
          type: 'retry_scheduled',
          data: { next_attempt_at: decision.nextAttemptAt.toISOString() },
        });
        if (!result.earliestRetryAt || decision.nextAttemptAt < result.earliestRetryAt) {
          result.earliestRetryAt = decision.nextAttemptAt;
        }
      }
      deps.logger.warn(
        { taskId: task.id, attempt: task.attempt, workerId: task.workerId, retry: decision.retry },
        'task timed out by the watchdog',
      );
    }
    if (events.length > 0) await tx.insertEvents(events);
    steps = await onTasksEnded(tx, deps, finished);
    ended.push(...steps.ended);
    return result;
  });
  if (ended.length > 0) deps.metrics?.runsEnded(ended);
  signalStepEffects(deps.signals, steps);
  if (outcome.earliestRetryAt) deps.signals.dueAt(outcome.earliestRetryAt);
  for (const q of new Set(ended.map((e) => e.queue))) deps.signals.admit?.(q);
  return outcome;
}
