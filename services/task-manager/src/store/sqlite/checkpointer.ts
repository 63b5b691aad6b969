// WAL checkpoints on a worker thread: the manager's own connection never checkpoints.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * In WAL mode SQLite copies the log back into the database file (a checkpoint) from inside the
 * COMMIT that pushes the log past `wal_autocheckpoint` pages: that commit copies ~1,000 pages and
 * syncs both files before it returns. better-sqlite3 is synchronous, so every such commit held the
 * manager's event loop for 5–25 ms (a few times a second at 1,000 POST/s, every few bulk batches),
 * and every request, produce and result apply waited behind it.
 *
 * Here the manager's connection runs with `wal_autocheckpoint = 0` and a worker thread with a
 * connection of its own runs `PRAGMA wal_checkpoint(PASSIVE)` every `intervalMs`. A passive
 * checkpoint takes no write lock, so commits go on meanwhile; once it has copied the whole log, the
 * next writer starts the log over from its beginning, so the WAL file stays bounded as before. A
 * thread with no commit to copy since its last complete checkpoint only reads `data_version`.
 *
 * The checkpoint changes where the copy happens, not what is durable: a commit is in the WAL
 * (synchronous = NORMAL, as before) whether or not it has been checkpointed, and SQLite recovers
 * the log after a crash.
 *
 * The thread's code is a string (evaluated as CommonJS), so the same module works from the build
 * and from the TypeScript sources under test; the driver is passed by its resolved path.
 */
const SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 0');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
// data_version changes when another connection commits: with no commit since a complete
// checkpoint there is nothing to copy, and an idle manager's thread does nothing else.
const dataVersion = db.prepare('PRAGMA data_version').pluck();
let seen = -1;
let partial = false;
const run = () => {
  try {
    const version = dataVersion.get();
    if (version === seen && !partial) return;
    seen = version;
    const { log, checkpointed } = checkpoint.get();
    partial = checkpointed < log;
    if (workerData.report) parentPort.postMessage({ type: 'checkpointed', log, checkpointed });
  } catch (err) {
    // A lock another connection holds for a moment (another process's checkpoint, a WAL
    // recovery): try again at the next tick.
    if (err && /^SQLITE_(BUSY|LOCKED)/.test(String(err.code))) {
      partial = true;
      return;
    }
    parentPort.postMessage({ type: 'failed', message: err && err.message ? err.message : String(err) });
  }
};
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface CheckpointerOptions {
  /** The database file (its WAL is `<file>-wal`). */
  file: string;
  /** Time between two passive checkpoints (default 200 ms). */
  intervalMs?: number;
  /**
   * The thread could not open the file, a checkpoint threw, or the thread died: the caller turns
   * its own connection's automatic checkpoints back on. Called at most once; the thread is stopped.
   */
  onFailure(reason: string): void;
  /** After each checkpoint: frames in the log, frames copied back so far (equal: complete). */
  onCheckpoint?(log: number, checkpointed: number): void;
}

export interface Checkpointer {
  /** Stops the thread and closes its connection (before the store closes its own). */
  stop(): Promise<void>;
}

type FromThread =
  { type: 'checkpointed'; log: number; checkpointed: number } | { type: 'failed'; message: string };

export function startCheckpointer(opts: CheckpointerOptions): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(SOURCE, {
    eval: true,
    workerData: {
      driver,
      file: opts.file,
      intervalMs: opts.intervalMs ?? 200,
      report: opts.onCheckpoint !== undefined,
    },
  });
  // A store nobody closes (a short script, a test) must not keep the process alive.
  worker.unref();
  let stopping = false;
  let failed = false;
  const fail = (reason: string): void => {
    if (failed || stopping) return;
    failed = true;
    opts.onFailure(reason);
    void worker.terminate();
  };
  worker.on('message', (m: FromThread) => {
    if (m.type === 'checkpointed') opts.onCheckpoint?.(m.log, m.checkpointed);
    else fail(`WAL checkpoint of ${opts.file} failed: ${m.message}`);
  });
  worker.on('error', (err) => fail(`WAL checkpoint thread for ${opts.file} failed: ${err.message}`));
  worker.on('exit', (code) => fail(`WAL checkpoint thread for ${opts.file} exited with code ${code}`));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

  return {
    stop() {
      if (!stopping) {
        stopping = true;
        // Keeps the process up until the thread has closed its connection, so that the store's
        // own close (the last connection's checkpoint) runs after it.
        worker.ref();
        if (!failed) worker.postMessage('stop');
      }
      return exited;
    },
  };
}
