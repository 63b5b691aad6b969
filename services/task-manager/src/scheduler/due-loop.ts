// Due loop: queues PENDING tasks whose run_at came and RETRYING tasks whose next_attempt_at came.
import type { TaskRecord } from '../store/types.js';
import type { DomainDeps } from '../domain/deps.js';
import { admissionGate, queueOrWait } from '../domain/admission.js';
import { failForGood } from '../domain/dispatch.js';
import { loadTaskTemplates } from '../domain/task-templates.js';

export interface DueLoopOptions {
  /** Tasks queued per unit of work. */
  batchSize?: number;
  /**
   * Longest sleep between sweeps (ms). The loop sleeps until the next known due time; this cap is
   * the safety net for due tasks created by another replica, which sends this one no signal.
   */
  maxSleepMs?: number;
}

export interface DueLoop {
  start(): void;
  /** Clears the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
  /** Something becomes due at `at` (default: now): sweep then, if that is earlier than planned. */
  wake(at?: Date): void;
}

export function createDueLoop(deps: DomainDeps & DueLoopOptions): DueLoop {
  const logger = deps.logger.child({ component: 'due-loop' });
  const batchSize = deps.batchSize ?? 500;
  const maxSleepMs = deps.maxSleepMs ?? 5_000;
  let running = false;
  let timer: NodeJS.Timeout | null = null;
  /** Epoch ms the timer is armed for. */
  let armedAt = Infinity;
  let sweeping: Promise<void> | null = null;
  /** Earliest wake-up that arrived during a sweep: that sweep's nextDueAt read may predate the task. */
  let wokenDuringSweep = Infinity;

  function arm(atMs: number): void {
    if (!running) return;
    if (timer) clearTimeout(timer);
    armedAt = atMs;
    timer = setTimeout(onTimer, Math.max(0, atMs - deps.clock.now().getTime()));
  }

  function onTimer(): void {
    timer = null;
    armedAt = Infinity;
    if (!running || sweeping) return;
    sweeping = runSweep().finally(() => {
      sweeping = null;
    });
  }

  async function runSweep(): Promise<void> {
    let next: number;
    try {
      next = await sweep();
    } catch (err) {
      logger.error({ err }, 'due-task sweep failed; retrying in 1 s');
      next = deps.clock.now().getTime() + 1_000;
    }
    const at = Math.min(next, wokenDuringSweep);
    wokenDuringSweep = Infinity;
    arm(at);
  }

  /** Queues everything due now, batch by batch; returns when to look again (epoch ms). */
  async function sweep(): Promise<number> {
    for (;;) {
      const now = deps.clock.now();
      const due = await deps.store.listDueTasks(now, batchSize);
      if (due.length > 0) await dispatchBatch(due, now);
      if (due.length < batchSize || !running) break;
    }
    const nextDue = await deps.store.nextDueAt();
    const cap = deps.clock.now().getTime() + maxSleepMs;
    return nextDue ? Math.min(nextDue.getTime(), cap) : cap;
  }

  async function dispatchBatch(due: readonly TaskRecord[], now: Date): Promise<void> {
    const waiting = new Set<string>();
    const queued = await deps.store.unitOfWork(async (tx) => {
      waiting.clear();
      const templates = await loadTaskTemplates(tx, due);
      // One gate for the batch: the queues' settings read (and locks taken) in queue-name order.
      const gate = admissionGate(tx, now);
      await gate.prepare(
        due.flatMap((task) => {
          const template = templates.get(task.templateId);
          return template ? [{ task, template }] : [];
        }),
      );
      let count = 0;
      for (const task of due) {
        const template = templates.get(task.templateId);
        if (!template) {
          // Cannot happen with soft deletes; fail the task rather than find it due forever.
          const error = {
            message: `template ${task.templateId} of task ${task.id} is missing`,
            retryable: false,
          };
          const failed = await failForGood(tx, task, error, now, { nextAttemptAt: null });
          if (failed) await tx.insertEvents([failed]);
          logger.error({ taskId: task.id, templateId: task.templateId }, 'due task has no template; failed');
          continue;
        }
        // A false return means another replica queued it first (compare-and-set on status + attempt).
        // A copy: queueTask updates the record it is given, and a unit of work retried after a
        // MySQL deadlock runs again from the rows as they were read.
        const outcome = await queueOrWait(tx, { ...task }, template, now, deps.settings, { gate });
        if (outcome === 'queued') count++;
        else if (outcome === 'waiting') waiting.add(task.queue);
      }
      return count;
    });
    if (queued > 0) {
      deps.signals.outboxWritten();
      logger.debug({ queued, due: due.length }, 'due tasks queued');
    }
    for (const q of waiting) deps.signals.admit?.(q);
  }

  return {
    start() {
      if (running) return;
      running = true;
      arm(deps.clock.now().getTime());
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = null;
      armedAt = Infinity;
      await sweeping;
    },
    wake(at?: Date) {
      if (!running) return;
      const atMs = at ? at.getTime() : deps.clock.now().getTime();
      if (sweeping) wokenDuringSweep = Math.min(wokenDuringSweep, atMs);
      else if (atMs < armedAt) arm(atMs);
    },
  };
}
