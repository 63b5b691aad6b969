// A FIFO async mutex: serialises SQLite units of work and the operations around them.

/** One holder at a time; waiters run in arrival order and the lock passes straight to the next. */
export class Mutex {
  private locked = false;
  private readonly waiters: Array<() => void> = [];

  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.locked) {
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
