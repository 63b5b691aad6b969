// Timeout watchdog: every interval, times out RUNNING tasks whose worker went silent past the deadline.
import type { DomainDeps } from '../domain/deps.js';
import { TIMEOUT_GRACE_MS, timeOutOverdueTasks } from '../domain/timeouts.js';
import { periodic } from './periodic.js';
import type { Periodic } from './periodic.js';

export interface WatchdogOptions {
  /** Time between passes (ms). Deadlines are far apart from the grace margin, so a poll is enough. */
  intervalMs?: number;
  /** Margin past started_at + timeout_ms before a RUNNING task counts as abandoned (ms). */
  graceMs?: number;
  /** Tasks handled per unit of work. */
  batchSize?: number;
}

/** `runOnce` resolves with how many tasks were timed out (tests, admin). */
export type Watchdog = Periodic;

export function createWatchdog(deps: DomainDeps & WatchdogOptions): Watchdog {
  const logger = deps.logger.child({ component: 'watchdog' });
  const intervalMs = deps.intervalMs ?? 1_000;
  const graceMs = deps.graceMs ?? TIMEOUT_GRACE_MS;
  const limit = deps.batchSize ?? 200;

  async function fullPass(): Promise<number> {
    let total = 0;
    for (;;) {
      const outcome = await timeOutOverdueTasks(deps, { graceMs, limit });
      total += outcome.timedOut;
      // A full page in which nothing moved is other rows (QUEUED ones, lost races): stop, not spin.
      if (outcome.scanned < limit || outcome.timedOut === 0) return total;
    }
  }

  return periodic({
    intervalMs,
    pass: fullPass,
    onError: (err) => logger.error({ err }, 'watchdog pass failed'),
  });
}
