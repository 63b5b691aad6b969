// The MySQL/MariaDB Store: a mysql2 pool (UTC, JSON as text, bounded wait queue), a unit of work = one
// connection's transaction, retried on deadlocks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/mysql2';
import { migrate } from 'drizzle-orm/mysql2/migrator';
import { createPool } from 'mysql2/promise';
import type { PoolConnection as CorePoolConnection } from 'mysql2';
import type { Logger } from 'pino';
import type { Store, StoreOps } from '../types.js';
import { resolveMigrationsDir } from '../migrations-dir.js';
import { translateMysqlError } from './errors.js';
import { mysqlOps } from './ops.js';
import type { Atomic, MysqlDb, MysqlHandle } from './ops.js';
import { withConflictRetry } from './retry.js';

export interface MysqlStoreOptions {
  /** mysql://user:pass@host:port/db */
  dsn: string;
  /** Pool connections (default 10). */
  poolSize?: number;
  /**
   * Operations that may wait for a free connection (default 1000); one more fails at once with
   * StoreUnavailable('saturated') instead of piling up in memory behind a slow or dead server.
   */
  queueLimit?: number;
  /** Retries of a deadlocked or lock-timed-out unit of work or operation (default 3). */
  conflictRetries?: number;
  /**
   * innodb_lock_wait_timeout of every connection, in seconds (default 5; the server's default of
   * 50 would hold a request for minutes across the retries).
   */
  lockWaitTimeoutS?: number;
  logger?: Logger;
  /** Overrides the drizzle/mysql folder found by walking up from this module. */
  migrationsDir?: string;
}

/**
 * Wraps every op so that driver errors become store errors, in this one place. `retry` runs an op
 * again after a deadlock: only outside a unit of work, where the op is its own transaction (inside
 * one, the deadlock rolled back the whole unit, so the unit is what gets retried).
 */
function translated(ops: StoreOps, retry?: (fn: () => Promise<unknown>) => Promise<unknown>): StoreOps {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(ops) as Array<[string, (...args: unknown[]) => Promise<unknown>]>) {
    const once = (args: unknown[]) =>
      fn(...args).catch((err: unknown) => Promise.reject(translateMysqlError(err)));
    out[name] = retry ? (...args: unknown[]) => retry(() => once(args)) : (...args: unknown[]) => once(args);
  }
  return out as unknown as StoreOps;
}

function redact(dsn: string): string {
  return dsn.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

export function createMysqlStore(opts: MysqlStoreOptions): Store {
  const pool = createPool({
    uri: opts.dsn,
    connectionLimit: opts.poolSize ?? 10,
    queueLimit: opts.queueLimit ?? 1000,
    // DATETIME(3) columns hold UTC; drizzle formats them as UTC strings, and 'Z' keeps mysql2
    // from shifting any Date it formats itself.
    timezone: 'Z',
    // MySQL 8 returns native JSON parsed and MariaDB returns text: make both text, parsed once.
    jsonStrings: true,
    charset: 'utf8mb4',
    supportBigNumbers: true,
    enableKeepAlive: true,
  });
  const log = opts.logger?.child({ component: 'store', dialect: 'mysql' });
  const lockWaitTimeoutS = opts.lockWaitTimeoutS ?? 5;
  // Per connection: NOW() and friends in UTC, READ COMMITTED so batch writes and guarded updates
  // take no gap locks (fewer deadlocks between concurrent units of work), and a short lock wait.
  pool.pool.on('connection', (conn: CorePoolConnection) => {
    const onError = (err: unknown) => {
      if (err) log?.error({ err }, 'mysql session setup failed');
    };
    conn.query("SET time_zone = '+00:00'", onError);
    conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', onError);
    conn.query(
      `SET SESSION innodb_lock_wait_timeout = ${Math.max(1, Math.floor(lockWaitTimeoutS))}`,
      onError,
    );
  });
  // Not drizzle({ client, mode }): drizzle 0.44's config sniffing rejects any object with `mode`.
  const db = drizzle(pool, { mode: 'default' }) as unknown as MysqlDb;

  /**
   * BEGIN … COMMIT on one pooled connection, with drizzle over that connection. Not
   * db.transaction(): the batch INSERTs need the raw connection, which drizzle's tx hides.
   */
  const transaction = async <T>(fn: (h: MysqlHandle) => Promise<T>): Promise<T> => {
    // Driver errors of the transaction's own statements are translated here; `fn`'s errors come
    // from translated ops (or the domain) and pass through unchanged.
    const driver = (err: unknown) => Promise.reject(translateMysqlError(err));
    const conn = await pool.getConnection().catch(driver);
    let healthy = true;
    try {
      await conn.query('START TRANSACTION').catch(driver);
      try {
        const result = await fn({ db: drizzle(conn, { mode: 'default' }) as unknown as MysqlDb, raw: conn });
        await conn.query('COMMIT').catch(driver);
        return result;
      } catch (err) {
        await conn.query('ROLLBACK').catch((rollbackErr: unknown) => {
          healthy = false;
          log?.warn({ err: rollbackErr }, 'mysql rollback failed; dropping the connection');
        });
        throw err;
      }
    } finally {
      if (healthy) conn.release();
      else conn.destroy();
    }
  };
  const inTx =
    (h: MysqlHandle): Atomic =>
    (fn) =>
      fn(h);
  const retry = <T>(fn: () => Promise<T>): Promise<T> =>
    withConflictRetry(fn, { retries: opts.conflictRetries, log });
  const topOps = translated(mysqlOps({ db, raw: pool }, transaction), retry);

  let migrationsDir: string | undefined;
  const dir = () => (migrationsDir ??= resolveMigrationsDir('mysql', opts.migrationsDir));
  let expected: number | undefined;

  return {
    ...topOps,
    dialect: 'mysql',

    unitOfWork(fn) {
      // A deadlock rolls back the whole unit, so the whole unit runs again: `fn` must keep its
      // state inside (as every unit of work does: it reads, decides and writes through `tx`).
      return retry(() => transaction((h) => fn(translated(mysqlOps(h, inTx(h))))));
    },

    async migrate() {
      // Replicas start together: a named lock (per database) lets one apply the migrations.
      const conn = await pool.getConnection();
      try {
        const [rows] = await conn.query(
          "SELECT GET_LOCK(CONCAT('taskwire_migrate:', DATABASE()), 120) AS ok",
        );
        if ((rows as Array<{ ok: number | null }>)[0]?.ok !== 1) {
          throw new Error(`mysql ${redact(opts.dsn)}: timed out waiting for the migration lock`);
        }
        try {
          log?.info({ dsn: redact(opts.dsn), migrationsDir: dir() }, 'applying mysql migrations');
          // On the connection holding the lock: with DB_POOL_SIZE=1 the pool has no other.
          await migrate(drizzle(conn, { mode: 'default' }) as never, { migrationsFolder: dir() });
        } finally {
          await conn.query("SELECT RELEASE_LOCK(CONCAT('taskwire_migrate:', DATABASE()))");
        }
      } finally {
        conn.release();
      }
    },

    async ping() {
      if (expected === undefined) {
        const journal = JSON.parse(readFileSync(join(dir(), 'meta', '_journal.json'), 'utf8')) as {
          entries: unknown[];
        };
        expected = journal.entries.length;
      }
      let applied: number;
      try {
        const [rows] = (await db.execute(sql`SELECT count(*) AS n FROM __drizzle_migrations`)) as unknown as [
          Array<{ n: number | string }>,
        ];
        applied = Number(rows[0]?.n ?? 0);
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code;
        if (code === 'ER_NO_SUCH_TABLE') {
          throw new Error(`mysql ${redact(opts.dsn)} is not migrated (no __drizzle_migrations table)`, {
            cause: err,
          });
        }
        throw new Error(`mysql ${redact(opts.dsn)} is unreachable: ${String((err as Error).message)}`, {
          cause: err,
        });
      }
      if (applied < expected) {
        throw new Error(
          `mysql ${redact(opts.dsn)} is not migrated: ${applied} of ${expected} migrations applied`,
        );
      }
    },

    async close() {
      await pool.end();
      log?.info({ dsn: redact(opts.dsn) }, 'mysql store closed');
    },
  };
}
