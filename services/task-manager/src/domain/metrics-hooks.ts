// What the domain, relay, result consumer and scheduler report for metrics: plain calls, no metrics library.
import type { TaskStatus } from '@taskwire/contracts';
import type { TaskRecord } from '../store/types.js';

/** A task committed by one unit of work. */
export interface CreatedTask {
  template: string;
  queue: string;
}

/** One run of a task that ended (any attempt), as applied from a worker's result or by the watchdog. */
export interface EndedRun {
  template: string;
  queue: string;
  /** The task's status after the run: terminal, or RETRYING when attempts remain. */
  status: TaskStatus;
  /** started_at → finished_at, when both are known. */
  runMs: number | null;
  /** queued_at → started_at of this attempt, when both are known. */
  queueWaitMs: number | null;
}

/**
 * Called after the unit of work commits, once per batch where the code already batches (a batch of
 * created tasks, a batch of applied results, a relay send), so hot paths pay one call per batch.
 * Implementations must be cheap and must not throw.
 */
export interface MetricsHooks {
  tasksCreated(tasks: readonly CreatedTask[]): void;
  runsEnded(runs: readonly EndedRun[]): void;
  /** One cron fire created its task `latenessMs` after its scheduled time. */
  cronFired(latenessMs: number): void;
  /** The relay published `messages` outbox rows in one produce request taking `seconds`. */
  relayPublished(messages: number, seconds: number): void;
  /** The result consumer applied one batch of `messages` results in `seconds`. */
  resultsApplied(messages: number, seconds: number): void;
  /** The DLQ indexer stored `count` new dead letters of `topic` (a `<topic>.dlq`). */
  deadLettersIndexed?(topic: string, count: number): void;
  /** POST /dlq/replay queued `count` dead letters of `topic` for their source topics. */
  dlqReplayed?(topic: string, count: number): void;
  /** The retention purge deleted `count` rows of one kind. */
  retentionDeleted?(kind: RetentionKind, count: number): void;
}

/** What the retention purge deletes: the label values of taskwire_retention_deleted_total. */
export const RETENTION_KINDS = ['tasks', 'events', 'dead_letters', 'outbox', 'workflows'] as const;
export type RetentionKind = (typeof RETENTION_KINDS)[number];

export const noMetrics: MetricsHooks = {
  tasksCreated() {},
  runsEnded() {},
  cronFired() {},
  relayPublished() {},
  resultsApplied() {},
};

/** The metrics view of a run that just ended; `template` is absent only for a deleted template row. */
export function endedRun(task: TaskRecord, template: string | undefined): EndedRun {
  const { startedAt, finishedAt, queuedAt } = task;
  return {
    template: template ?? 'unknown',
    queue: task.queue,
    status: task.status,
    runMs: startedAt && finishedAt ? finishedAt.getTime() - startedAt.getTime() : null,
    queueWaitMs: queuedAt && startedAt ? Math.max(0, startedAt.getTime() - queuedAt.getTime()) : null,
  };
}
