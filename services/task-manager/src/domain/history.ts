// Per-attempt summary of a task's history, derived from its append-only events.
import type { TaskEventType, WireError } from '@taskwire/contracts';
import type { TaskEventRecord } from '../store/types.js';

export interface AttemptSummary {
  attempt: number;
  queuedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
  workerId: string | null;
  /** The terminal event of the attempt, or null while it is still queued or running. */
  outcome: 'succeeded' | 'failed' | 'timed_out' | 'canceled' | null;
  error: WireError | null;
  /** How many times a worker started this attempt (more than 1 after a redelivery). */
  executions: number;
}

const OUTCOMES: ReadonlySet<TaskEventType> = new Set(['succeeded', 'failed', 'timed_out', 'canceled']);

/** Folds events (oldest first) into one summary per attempt, in attempt order. */
export function summarizeAttempts(events: readonly TaskEventRecord[]): AttemptSummary[] {
  const byAttempt = new Map<number, AttemptSummary>();
  for (const e of events) {
    let s = byAttempt.get(e.attempt);
    if (!s) {
      s = {
        attempt: e.attempt,
        queuedAt: null,
        startedAt: null,
        finishedAt: null,
        durationMs: null,
        workerId: null,
        outcome: null,
        error: null,
        executions: 0,
      };
      byAttempt.set(e.attempt, s);
    }
    if (e.type === 'queued') s.queuedAt ??= e.at;
    else if (e.type === 'started') {
      s.startedAt = e.at;
      s.workerId = e.workerId;
      s.executions++;
    } else if (OUTCOMES.has(e.type) && s.outcome === null) {
      s.outcome = e.type as AttemptSummary['outcome'];
      s.finishedAt = e.at;
      s.workerId = e.workerId ?? s.workerId;
      s.durationMs = s.startedAt ? e.at.getTime() - s.startedAt.getTime() : null;
      const data = e.data as { error?: WireError } | null;
      s.error = data?.error ?? null;
    }
  }
  return [...byAttempt.values()].sort((a, b) => a.attempt - b.attempt);
}
