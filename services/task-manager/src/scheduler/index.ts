// The manager's scheduler: cron scheduler + due loop + timeout watchdog behind one start/stop.
import type { DomainDeps } from '../domain/deps.js';
import { createAdmissionLoop } from './admission-loop.js';
import type { AdmissionLoopOptions } from './admission-loop.js';
import { createCronScheduler } from './cron-scheduler.js';
import type { CronSchedulerOptions } from './cron-scheduler.js';
import { createDueLoop } from './due-loop.js';
import type { DueLoopOptions } from './due-loop.js';
import { createWatchdog } from './watchdog.js';
import type { WatchdogOptions } from './watchdog.js';

export { createAdmissionLoop } from './admission-loop.js';
export type { AdmissionLoop, AdmissionLoopOptions } from './admission-loop.js';
export { createCronScheduler } from './cron-scheduler.js';
export type { CronScheduler, CronSchedulerOptions } from './cron-scheduler.js';
export { createDueLoop } from './due-loop.js';
export type { DueLoop, DueLoopOptions } from './due-loop.js';
export { createWatchdog } from './watchdog.js';
export type { Watchdog, WatchdogOptions } from './watchdog.js';

export interface SchedulerOptions {
  cron?: CronSchedulerOptions;
  due?: DueLoopOptions;
  watchdog?: WatchdogOptions;
  admission?: AdmissionLoopOptions;
}

export interface Scheduler {
  /** Loads the cron templates (catching up missed fires), then starts the due loop and the watchdog. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Re-reads every template (POST /admin/scheduler/refresh); rejects if the store fails. */
  refresh(): Promise<void>;
  /** For signals.templatesChanged: refresh without a promise to handle (failures are logged). */
  templatesChanged(): void;
  /** For signals.dueAt: a task becomes due at `at`. */
  wake(at?: Date): void;
  /** For signals.admit: tasks of `queue` (of `keys` only, when given) may be admitted. */
  admit(queue: string, keys?: readonly string[]): void;
}

/**
 * Wire in main.ts as
 * `signals.templatesChanged = () => scheduler.templatesChanged(); signals.dueAt = (at) => scheduler.wake(at)`.
 */
export function createScheduler(deps: DomainDeps, opts: SchedulerOptions = {}): Scheduler {
  const logger = deps.logger.child({ component: 'scheduler' });
  const cron = createCronScheduler({ ...deps, ...opts.cron });
  const due = createDueLoop({ ...deps, ...opts.due });
  const watchdog = createWatchdog({ ...deps, ...opts.watchdog });
  const admission = createAdmissionLoop({ ...deps, ...opts.admission });
  return {
    async start() {
      due.start();
      watchdog.start();
      admission.start();
      try {
        await cron.start();
      } catch (err) {
        await Promise.all([due.stop(), watchdog.stop(), admission.stop()]);
        throw err;
      }
    },
    async stop() {
      await Promise.all([cron.stop(), due.stop(), watchdog.stop(), admission.stop()]);
    },
    refresh: () => cron.refresh(),
    templatesChanged() {
      cron.refresh().catch((err: unknown) => logger.error({ err }, 'template reload failed'));
    },
    wake: (at) => due.wake(at),
    admit: (queue, keys) => admission.wake(queue, keys),
  };
}
