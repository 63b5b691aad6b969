// Retry rules: whether a failed attempt is retried and after how long (exponential backoff + jitter).
import type { Backoff, TaskRecord, TemplateRecord } from '../store/types.js';

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1_000, factor: 2, maxMs: 300_000, jitter: 0.2 };

/**
 * Delay before attempt `nextAttempt` (2 for the first retry): initial * factor^(n-2), capped at max,
 * then reduced by a random fraction of up to `jitter` so that retries of many tasks spread out.
 */
export function backoffDelayMs(
  policy: Backoff,
  nextAttempt: number,
  random: () => number = Math.random,
): number {
  const exp = Math.max(0, nextAttempt - 2);
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, exp));
  const jittered = base * (1 - policy.jitter * random());
  return Math.max(0, Math.round(jittered));
}

export interface RetryDecision {
  retry: boolean;
  /** When the next attempt is due (only when retry). */
  nextAttemptAt?: Date;
}

/** A failed or timed-out attempt is retried when it is retryable and attempts remain. */
export function decideRetry(
  task: TaskRecord,
  template: TemplateRecord | null,
  retryable: boolean,
  now: Date,
  random: () => number = Math.random,
): RetryDecision {
  if (!retryable || task.attempt >= task.maxAttempts) return { retry: false };
  const policy = task.backoff ?? template?.backoff ?? DEFAULT_BACKOFF;
  const delay = backoffDelayMs(policy, task.attempt + 1, random);
  return { retry: true, nextAttemptAt: new Date(now.getTime() + delay) };
}
