// Timeout watchdog: every interval, times out RUNNING tasks whose worker went silent past the deadline.
import type { DomainDeps } from '../domain/deps.js';
import { TIMEOUT_GRACE_MS, timeOutOverdueTasks } from '../domain/timeouts.js';

export interface WatchdogOptions {
  /** Time between passes (ms). Deadlines are far apart from the grace margin, so a poll is enough. */
  intervalMs?: number;
  /** Margin past started_at + timeout_ms before a RUNNING task counts as abandoned (ms). */
  graceMs?: number;
  /** Tasks handled per unit of work. */
  batchSize?: number;
}

export interface Watchdog {
  start(): void;
  /** Clears the timer and waits for a pass in progress. */
  stop(): Promise<void>;
  /** Runs one full pass now (tests, admin); resolves with how many tasks were timed out. */
  runOnce(): Promise<number>;
}

export function createWatchdog(deps: DomainDeps & WatchdogOptions): Watchdog {
  const logger = deps.logger.child({ component: 'watchdog' });
  const intervalMs = deps.intervalMs ?? 1_000;
  const graceMs = deps.graceMs ?? TIMEOUT_GRACE_MS;
  const limit = deps.batchSize ?? 200;
  let running = false;
  let timer: NodeJS.Timeout | null = null;
  let pass: Promise<number> | null = null;

  async function fullPass(): Promise<number> {
    let total = 0;
    for (;;) {
      const outcome = await timeOutOverdueTasks(deps, { graceMs, limit });
      total += outcome.timedOut;
      // A full page in which nothing moved is other rows (QUEUED ones, lost races): stop, not spin.
      if (outcome.scanned < limit || outcome.timedOut === 0) return total;
    }
  }

  function runOnce(): Promise<number> {
    if (pass) return pass;
    pass = fullPass().finally(() => {
      pass = null;
    });
    return pass;
  }

  function schedule(): void {
    if (!running) return;
    timer = setTimeout(() => {
      timer = null;
      runOnce()
        .catch((err: unknown) => {
          logger.error({ err }, 'watchdog pass failed');
          return 0;
        })
        .finally(schedule);
    }, intervalMs);
  }

  return {
    start() {
      if (running) return;
      running = true;
      schedule();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = null;
      await pass?.catch(() => 0);
    },
    runOnce,
  };
}
