// A pass that runs every interval, one at a time: the loop shared by the timeout watchdog and the retention sweep.

export interface Periodic {
  start(): void;
  /** Clears the timer and waits for a pass in progress. */
  stop(): Promise<void>;
  /** One pass now, or the one already in progress; resolves with what it returns. */
  runOnce(): Promise<number>;
}

export interface PeriodicOptions {
  /** Time from the end of one pass to the start of the next (ms). */
  intervalMs: number;
  pass: () => Promise<number>;
  /** A failed timed pass is reported here; the loop carries on at the next interval. */
  onError: (err: unknown) => void;
  /** Lets the process exit while only this timer is pending. */
  unref?: boolean;
}

export function periodic(opts: PeriodicOptions): Periodic {
  let running = false;
  let timer: NodeJS.Timeout | null = null;
  let pass: Promise<number> | null = null;

  function runOnce(): Promise<number> {
    pass ??= opts.pass().finally(() => {
      pass = null;
    });
    return pass;
  }

  // setTimeout after each pass, not setInterval: a slow pass never overlaps the next one.
  function schedule(): void {
    if (!running) return;
    timer = setTimeout(() => {
      timer = null;
      runOnce()
        .catch((err: unknown) => {
          opts.onError(err);
          return 0;
        })
        .finally(schedule);
    }, opts.intervalMs);
    if (opts.unref) timer.unref();
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
