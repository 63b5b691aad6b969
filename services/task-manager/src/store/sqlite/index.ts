// The SQLite Store: one better-sqlite3 connection (WAL), units of work serialised by an async mutex.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import type { Logger } from 'pino';
import type { Store, StoreOps } from '../types.js';
import { resolveMigrationsDir } from '../migrations-dir.js';
import { Mutex } from '../mutex.js';
import { startCheckpointer } from './checkpointer.js';
import { translateSqliteError } from './errors.js';
import { sqliteOps } from './ops.js';
import type { SyncOps } from './ops.js';

export interface SqliteStoreOptions {
  /** A file path, `file:path`, or `:memory:` (tests). */
  file: string;
  logger?: Logger;
  /** Overrides the drizzle/sqlite folder found by walking up from this module. */
  migrationsDir?: string;
  /** How long a write waits for another process's lock, in ms (default 5000). */
  busyTimeoutMs?: number;
  /**
   * Operations that may wait for the connection at once (default 1000); one more fails at once
   * with StoreUnavailable('saturated').
   */
  queueLimit?: number;
  /** Time between two WAL checkpoints on the checkpoint thread (default 200 ms). */
  checkpointIntervalMs?: number;
}

/** Promise-returning ops over the synchronous ones, with driver errors translated (in this one place). */
function asyncOps(sync: SyncOps): StoreOps {
  const ops: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(sync) as Array<[string, (...args: unknown[]) => unknown]>) {
    ops[name] = (...args: unknown[]) => {
      try {
        return Promise.resolve(fn(...args));
      } catch (err) {
        return Promise.reject(translateSqliteError(err));
      }
    };
  }
  return ops as unknown as StoreOps;
}

/**
 * better-sqlite3 is synchronous but a unit of work's `fn` is async, so a transaction stays open
 * across awaits. The mutex makes every unit of work, and every operation outside one, wait its
 * turn: nothing lands inside another caller's open transaction. So `fn` must use `tx`, never the
 * store itself (or a nested unitOfWork): that call would wait for the unit it runs in.
 */
export function createSqliteStore(opts: SqliteStoreOptions): Store {
  const path = opts.file.startsWith('file:') ? opts.file.slice('file:'.length) : opts.file;
  const memory = path === ':memory:' || path === '';
  if (!memory) mkdirSync(dirname(path), { recursive: true });
  const client = new Database(memory ? ':memory:' : path);
  client.pragma('journal_mode = WAL');
  client.pragma('synchronous = NORMAL');
  client.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  client.pragma('foreign_keys = OFF');
  client.pragma('temp_store = MEMORY');
  const db = drizzle({ client });
  const log = opts.logger?.child({ component: 'store', dialect: 'sqlite' });
  // A file's WAL is checkpointed by a thread of its own (checkpointer.ts), not inside our commits.
  // Should that thread fail, this connection checkpoints again as SQLite does by default.
  const checkpointer = memory
    ? null
    : startCheckpointer({
        file: path,
        ...(opts.checkpointIntervalMs !== undefined ? { intervalMs: opts.checkpointIntervalMs } : {}),
        onFailure(reason) {
          if (!client.open) return;
          client.pragma('wal_autocheckpoint = 1000');
          log?.warn({ file: path, reason }, 'WAL checkpoints are back on the main connection');
        },
      });
  if (checkpointer) client.pragma('wal_autocheckpoint = 0');
  const lock = new Mutex(opts.queueLimit ?? 1000);
  const begin = client.prepare('BEGIN IMMEDIATE');
  const commit = client.prepare('COMMIT');
  const rollback = client.prepare('ROLLBACK');

  // Multi-statement ops are atomic on their own; inside a unit of work they join its transaction.
  const atomic = <T>(fn: () => T): T => (client.inTransaction ? fn() : client.transaction(fn).immediate());
  const txOps = asyncOps(sqliteOps(db, client, atomic));
  const topOps: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(txOps) as Array<
    [string, (...args: unknown[]) => Promise<unknown>]
  >) {
    topOps[name] = (...args: unknown[]) => lock.run(() => fn(...args));
  }

  let migrationsDir: string | undefined;
  const journalEntries = (): number => {
    migrationsDir ??= resolveMigrationsDir('sqlite', opts.migrationsDir);
    const journal = JSON.parse(readFileSync(join(migrationsDir, 'meta', '_journal.json'), 'utf8')) as {
      entries: unknown[];
    };
    return journal.entries.length;
  };
  let closed = false;

  return {
    ...(topOps as unknown as StoreOps),
    dialect: 'sqlite',

    unitOfWork(fn) {
      return lock.run(async () => {
        // BEGIN IMMEDIATE is where another process's write lock shows (SQLITE_BUSY after
        // busy_timeout); `fn`'s errors come from translated ops (or the domain) and pass through.
        try {
          begin.run();
        } catch (err) {
          throw translateSqliteError(err);
        }
        try {
          const result = await fn(txOps);
          try {
            commit.run();
          } catch (err) {
            throw translateSqliteError(err);
          }
          return result;
        } catch (err) {
          if (client.inTransaction) rollback.run();
          throw err;
        }
      });
    },

    migrate() {
      return lock.run(() => {
        migrationsDir ??= resolveMigrationsDir('sqlite', opts.migrationsDir);
        log?.info({ file: path, migrationsDir }, 'applying sqlite migrations');
        migrate(db, { migrationsFolder: migrationsDir });
      });
    },

    ping() {
      return lock.run(() => {
        const expected = journalEntries();
        let applied: number;
        try {
          applied = (client.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number })
            .n;
        } catch (err) {
          throw new Error(`sqlite database ${path} is not migrated (no __drizzle_migrations table)`, {
            cause: err,
          });
        }
        if (applied < expected) {
          throw new Error(
            `sqlite database ${path} is not migrated: ${applied} of ${expected} migrations applied`,
          );
        }
      });
    },

    close() {
      return lock.run(async () => {
        if (closed) return;
        closed = true;
        // The thread's connection goes first: the last one to close checkpoints and removes the WAL.
        await checkpointer?.stop();
        // Refreshes planner statistics of tables that grew a lot (cheap; SQLite's advice).
        if (!memory) client.pragma('optimize');
        client.close();
        log?.info({ file: path }, 'sqlite store closed');
      });
    },
  };
}
