// Group commit: coalesces concurrent submissions into one batch run (one unit of work), one outcome
// each, with a bounded queue.
import { StoreUnavailable } from '../store/types.js';
import { AppError } from './errors.js';

/** The outcome of one item of a batch: its own value or its own error. */
export type ItemResult<R> = { ok: true; value: R } | { ok: false; error: unknown };

export interface GroupCommitOptions<I, R> {
  /**
   * Runs one batch and returns one result per item, in order. Throwing fails the whole batch; the
   * batcher then re-runs each item alone so that one poisonous item cannot fail its neighbours.
   */
  run(items: I[]): Promise<ItemResult<R>[]>;
  /** Most items per batch (default 500: where SQLite's rows/s flattens out). */
  maxBatch?: number;
  /** Batches running at once (default 1: SQLite has one writer; MySQL can take a few). */
  maxInFlight?: number;
  /**
   * Items that may wait for a batch (default unbounded). One more is refused at once with a 503
   * `unavailable` AppError: a burst faster than the database, or a database that hangs, must not
   * pile up requests in memory until the process falls over.
   */
  maxQueued?: number;
  /**
   * Least time in ms between the starts of two batches while they hold several items (default 0:
   * a batch starts as soon as the previous one ends). Under a steady stream of single requests,
   * those arriving within the interval then share one batch, so the fixed cost of a transaction
   * (BEGIN/COMMIT, the template and queue reads) is paid once per interval rather than once per
   * request; an item waits at most this long for it. After a batch of one item, or a quiet spell,
   * the next item starts at once: a client sending one request at a time is never held.
   */
  minIntervalMs?: number;
}

/** Retry-After (seconds) of a submission refused because the queue is full. */
export const QUEUE_FULL_RETRY_AFTER_S = 1;

interface Pending<I, R> {
  item: I;
  resolve(value: R): void;
  reject(error: unknown): void;
}

/**
 * Collects items submitted in the same event-loop turn, and all those submitted while a batch is
 * being committed, and runs them as one batch. Under no load a lone item waits one setImmediate;
 * under load batches grow by themselves to what arrived during the previous commit (the classic
 * group commit of databases), which is what turns N requests/s into N/batch transactions/s. With
 * `minIntervalMs`, batch starts are also paced while batches hold several items, so that requests
 * arriving one at a time share batches too (the commit_delay of databases, applied only under load).
 */
export class GroupCommit<I, R> {
  private queue: Array<Pending<I, R>> = [];
  private inFlight = 0;
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private readonly minIntervalMs: number;
  /** performance.now() when the last batch started, and how many items it held. */
  private lastStart = Number.NEGATIVE_INFINITY;
  private lastSize = 0;

  constructor(private readonly opts: GroupCommitOptions<I, R>) {
    this.maxBatch = Math.max(1, opts.maxBatch ?? 500);
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 1);
    this.maxQueued = Math.max(1, opts.maxQueued ?? Number.POSITIVE_INFINITY);
    this.minIntervalMs = Math.max(0, opts.minIntervalMs ?? 0);
  }

  /** Items waiting for a batch (not counting those being committed). */
  get queued(): number {
    return this.queue.length;
  }

  /** Adds `item` to the next batch; settles with this item's own result or error. */
  submit(item: I): Promise<R> {
    if (this.queue.length >= this.maxQueued) {
      return Promise.reject(
        new AppError(
          'unavailable',
          `too many requests are waiting to be committed (${this.maxQueued}); retry in ${QUEUE_FULL_RETRY_AFTER_S} s`,
          { reason: 'queue_full', retry_after_s: QUEUE_FULL_RETRY_AFTER_S },
        ),
      );
    }
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or running (for shutdown). */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    const run = (): void => {
      this.scheduled = false;
      this.flush();
    };
    const wait = this.pacing() ? this.lastStart + this.minIntervalMs - performance.now() : 0;
    if (wait > 0) setTimeout(run, wait);
    else setImmediate(run);
  }

  /** Batches are paced once they hold several items: a lone item had nobody to wait for. */
  private pacing(): boolean {
    return this.minIntervalMs > 0 && this.lastSize > 1;
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const now = performance.now();
      if (this.pacing() && now < this.lastStart + this.minIntervalMs) {
        this.schedule(); // too soon after the last batch: let more items join this one
        return;
      }
      const batch = this.queue.splice(0, this.maxBatch);
      this.lastStart = now;
      this.lastSize = batch.length;
      this.inFlight++;
      void this.runBatch(batch).finally(() => {
        this.inFlight--;
        // Whatever arrived during this commit forms the next batch, without waiting another turn.
        if (this.queue.length > 0) this.flush();
        else if (this.inFlight === 0) this.notifyIdle();
      });
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private async runBatch(batch: Array<Pending<I, R>>): Promise<void> {
    let results: ItemResult<R>[];
    try {
      results = await this.opts.run(batch.map((p) => p.item));
    } catch (err) {
      // A database that cannot serve now fails every item alike: running each alone would only
      // knock on the same closed door once per item.
      if (batch.length === 1 || err instanceof StoreUnavailable) {
        for (const p of batch) p.reject(err);
        return;
      }
      // Isolate: run each item alone, so only the item that breaks the batch gets the error.
      for (const p of batch) await this.runBatch([p]);
      return;
    }
    batch.forEach((p, i) => {
      const r = results[i];
      if (!r)
        p.reject(new Error(`group commit: run returned ${results.length} results for ${batch.length} items`));
      else if (r.ok) p.resolve(r.value);
      else p.reject(r.error);
    });
  }
}
