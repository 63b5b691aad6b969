// Tasks running on this worker, and recently cancelled ones, so control messages can reach them.

/** Why a task's signal was aborted; `signal.reason` is one of these. */
export class TaskAbort extends Error {
  constructor(
    readonly kind: 'timeout' | 'cancel' | 'shutdown',
    message: string,
  ) {
    super(message);
    this.name = kind === 'timeout' ? 'TimeoutError' : 'AbortError';
  }
}

/** Aborts one running attempt; false when it was already aborted. */
export type AbortTask = (reason: TaskAbort) => boolean;

interface Entry {
  attempt: number;
  abort: AbortTask;
}

/** How long and how many cancels are remembered for tasks not (yet) running here. */
/** How long a cancel request is remembered for dispatches that arrive after it. */
export const CANCEL_TTL_MS = 15 * 60_000;
const CANCEL_LIMIT = 50_000;

export class RunningTasks {
  private readonly running = new Map<string, Entry[]>();
  /** task id → when the newest cancel request for it was made (epoch ms, the manager's clock). */
  private readonly canceled = new Map<string, { at: number; attempt?: number; seen: number }>();
  private count = 0;

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.count;
  }

  add(taskId: string, attempt: number, abort: AbortTask): () => void {
    const entry = { attempt, abort };
    const list = this.running.get(taskId);
    if (list) list.push(entry);
    else this.running.set(taskId, [entry]);
    this.count++;
    return () => {
      const current = this.running.get(taskId);
      if (!current) return;
      const i = current.indexOf(entry);
      if (i < 0) return;
      current.splice(i, 1);
      this.count--;
      if (current.length === 0) this.running.delete(taskId);
    };
  }

  /**
   * Aborts the running attempt(s) of a task (all attempts when `attempt` is absent) and remembers
   * the request, so a dispatch queued before it that arrives later is skipped. Returns how many
   * running attempts were aborted.
   */
  cancel(taskId: string, attempt: number | undefined, at: number): number {
    this.remember(taskId, attempt, at);
    let aborted = 0;
    for (const entry of this.running.get(taskId) ?? []) {
      if (attempt !== undefined && entry.attempt !== attempt) continue;
      if (entry.abort(new TaskAbort('cancel', `task ${taskId} attempt ${entry.attempt} was canceled`)))
        aborted++;
    }
    return aborted;
  }

  /** True when a cancel for this task (and attempt) was requested after the attempt was queued. */
  wasCanceled(taskId: string, attempt: number, queuedAt: number): boolean {
    const c = this.canceled.get(taskId);
    if (!c) return false;
    if (this.now() - c.seen > CANCEL_TTL_MS) {
      this.canceled.delete(taskId);
      return false;
    }
    if (c.attempt !== undefined && c.attempt !== attempt) return false;
    return c.at >= queuedAt;
  }

  /** Aborts everything still running (shutdown after the grace period). */
  abortAll(reason: TaskAbort): number {
    let aborted = 0;
    for (const list of this.running.values()) {
      for (const entry of list) {
        if (entry.abort(reason)) aborted++;
      }
    }
    return aborted;
  }

  private remember(taskId: string, attempt: number | undefined, at: number): void {
    this.canceled.delete(taskId); // re-insert: Map order is the eviction order
    this.canceled.set(
      taskId,
      attempt === undefined ? { at, seen: this.now() } : { at, attempt, seen: this.now() },
    );
    if (this.canceled.size > CANCEL_LIMIT) {
      const oldest = this.canceled.keys().next().value;
      if (oldest !== undefined) this.canceled.delete(oldest);
    }
  }
}
