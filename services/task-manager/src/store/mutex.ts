// A FIFO async mutex with a bounded wait list: serialises SQLite units of work and the operations around them.
import { StoreUnavailable } from './types.js';

/** One holder at a time; waiters run in arrival order and the lock passes straight to the next. */
export class Mutex {
  private locked = false;
  private readonly waiters: Array<() => void> = [];

  /**
   * @param maxWaiting callers that may wait at once; one more is refused at once with
   *   StoreUnavailable('saturated'), so that a burst (or a lock held by another process) cannot
   *   pile up requests in memory without bound.
   */
  constructor(private readonly maxWaiting = Number.POSITIVE_INFINITY) {}

  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.locked) {
      if (this.waiters.length >= this.maxWaiting) {
        throw new StoreUnavailable(
          'saturated',
          `too many operations are waiting for the SQLite database (${this.maxWaiting}, DB_QUEUE_LIMIT)`,
        );
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    } else {
      this.locked = true;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiters.shift();
      if (next) next();
      else this.locked = false;
    }
  }
}
