// Entry of the store: picks the dialect from config and re-exports the Store contract.
//
// Adding a column (or index, or table):
//   1. Add it to the record in types.ts and to BOTH schemas, src/store/sqlite/schema.ts and
//      src/store/mysql/schema.ts (same snake_case name; JSON → json() helper, times → time()).
//   2. Generate a migration for each dialect, from the repo root:
//        cd services/task-manager && npx drizzle-kit generate --config drizzle.config.sqlite.ts --name <what>
//        cd services/task-manager && npx drizzle-kit generate --config drizzle.config.mysql.ts --name <what>
//      (or `node scripts/pnpm.mjs --filter @taskwire/task-manager exec drizzle-kit generate --config …`).
//      This writes drizzle/sqlite/NNNN_<what>.sql and drizzle/mysql/NNNN_<what>.sql plus their
//      meta/ snapshots; commit all of them. Never edit an applied migration; add a new one.
//   3. A NOT NULL column needs a default (or a backfill in a custom migration:
//      `drizzle-kit generate --config … --custom --name <what>`) for existing rows.
//   4. Patches pick it up from the schema. A new filter or ordering goes in queries.ts, once for
//      both dialects (QueryTables lists the columns it reads); only what truly differs (upserts,
//      time arithmetic, batching) goes in sqlite/ops.ts and mysql/ops.ts. Add a case to contract/.
// store.migrate() applies pending migrations at start-up (drizzle's migrator).
import { createMysqlStore } from './mysql/index.js';
import { createSqliteStore } from './sqlite/index.js';
import type { Logger } from 'pino';
import type { Store } from './types.js';

export * from './types.js';
export { createMysqlStore } from './mysql/index.js';
export type { MysqlStoreOptions } from './mysql/index.js';
export { createSqliteStore } from './sqlite/index.js';
export type { SqliteStoreOptions } from './sqlite/index.js';

export interface StoreConfig {
  dbType: 'sqlite' | 'mysql';
  /** sqlite: a file path, `file:path` or `:memory:`; mysql: mysql://user:pass@host:port/db */
  dsn: string;
  logger?: Logger;
  /** MySQL pool size (DB_POOL_SIZE). */
  poolSize?: number;
  /** Operations that may wait for a MySQL connection or the SQLite lock (DB_QUEUE_LIMIT); more get 503. */
  queueLimit?: number;
  /** Overrides the drizzle/<dialect> migrations folder. */
  migrationsDir?: string;
}

export function createStore(config: StoreConfig): Store {
  const { logger, migrationsDir, queueLimit } = config;
  switch (config.dbType) {
    case 'sqlite':
      return createSqliteStore({ file: config.dsn, logger, migrationsDir, queueLimit });
    case 'mysql':
      return createMysqlStore({
        dsn: config.dsn,
        poolSize: config.poolSize,
        queueLimit,
        logger,
        migrationsDir,
      });
    default:
      throw new Error(`unknown dbType ${String(config.dbType as unknown)} (expected sqlite or mysql)`);
  }
}
