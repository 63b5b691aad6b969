// WAL checkpoints on a worker thread. better-sqlite3 is synchronous, so a checkpoint run by a commit
// (SQLite's auto-checkpoint at 1,000 WAL pages) copies pages and fsyncs the database file on the
// manager's event loop, stalling every request and Kafka callback behind it for milliseconds. Here a
// second connection on its own thread checkpoints PASSIVE-ly (it never blocks writers or readers),
// and the main connection keeps a far larger auto-checkpoint only as a bound on the WAL's size.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';

/** The main connection's auto-checkpoint while the thread runs: only a bound (~400 MB of 4 KiB pages). */
export const BACKSTOP_AUTOCHECKPOINT_PAGES = 100_000;
/** SQLite's default, restored when the thread is gone. */
export const DEFAULT_AUTOCHECKPOINT_PAGES = 1_000;

export interface CheckpointStats {
  /** Checkpoints run. */
  runs: number;
  /** Frames in the WAL at the last run, and how many of them are in the database file. */
  walFrames: number;
  checkpointedFrames: number;
}

export interface Checkpointer {
  stats(): CheckpointStats;
  /** Stops the thread and closes its connection; idempotent. */
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  file: string;
  intervalMs: number;
  logger?: Logger;
  /** Called once if the thread ends on its own (it failed): the caller takes checkpoints back. */
  onLost: (err: Error) => void;
}

// Plain CommonJS run by the worker (eval), so it needs no build step of its own; the driver's
// resolved path comes in workerData. `wal_checkpoint` returns busy, WAL frames and frames copied.
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fail = (err) => {
  parentPort.postMessage({ failed: String((err && err.message) || err) });
  process.exit(1);
};
let db;
try {
  db = new (require(workerData.driver))(workerData.file, { fileMustExist: true });
} catch (err) {
  fail(err);
}
const step = () => {
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ log: row.log, checkpointed: row.checkpointed });
  } catch (err) {
    fail(err);
  }
};
const timer = setInterval(step, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export function startCheckpointer(opts: CheckpointerOptions): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(THREAD_SOURCE, {
    eval: true,
    workerData: { driver, file: opts.file, intervalMs: opts.intervalMs },
  });
  // The thread must not keep a manager that is otherwise done from exiting.
  worker.unref();
  const stats: CheckpointStats = { runs: 0, walFrames: 0, checkpointedFrames: 0 };
  let stopping = false;
  let failure: Error | null = null;
  worker.on('message', (m: { log: number; checkpointed: number } | { failed: string }) => {
    if ('failed' in m) {
      failure = new Error(`sqlite checkpoint thread failed: ${m.failed}`);
      return;
    }
    stats.runs++;
    stats.walFrames = m.log;
    stats.checkpointedFrames = m.checkpointed;
  });
  worker.on('error', (err) => {
    failure ??= new Error(`sqlite checkpoint thread failed: ${err.message}`, { cause: err });
  });
  const exited = new Promise<void>((resolve) => {
    worker.once('exit', (code) => {
      if (!stopping) {
        const err = failure ?? new Error(`sqlite checkpoint thread exited with code ${code}`);
        opts.logger?.error({ err }, 'sqlite checkpoint thread lost; commits checkpoint the WAL again');
        opts.onLost(err);
      }
      resolve();
    });
  });
  return {
    stats: () => ({ ...stats }),
    async stop() {
      if (stopping) return exited;
      stopping = true;
      worker.postMessage('stop');
      // A thread stuck in a checkpoint (a slow disk) must not hold shutdown for long.
      const timer = setTimeout(() => void worker.terminate(), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
