// Test fixture: a fresh database on either dialect (a SQLite file or a MariaDB database) and stores over it.
import { createTestMysqlDatabase, createTestSqliteFile } from '@taskwire/testkit';
import { createMysqlStore } from '../store/mysql/index.js';
import { createSqliteStore } from '../store/sqlite/index.js';
import type { Store } from '../store/types.js';

export const DIALECTS = ['sqlite', 'mysql'] as const;
export type Dialect = (typeof DIALECTS)[number];

export interface TestDatabase {
  /** One more store on this database (not migrated), as another replica would open. */
  open(): Store;
  /** Closes every store opened on it, newest first, then deletes the file or drops the database. */
  cleanup(): Promise<void>;
}

/** A new, empty database; MySQL stores get a pool of 4 (test runs keep many databases open at once). */
export async function createTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  const stores: Store[] = [];
  const track = (store: Store) => (stores.push(store), store);
  const closeAll = async () => {
    for (const store of stores.splice(0).reverse()) await store.close();
  };
  if (dialect === 'sqlite') {
    const file = createTestSqliteFile();
    return {
      open: () => track(createSqliteStore({ file: file.file })),
      cleanup: async () => {
        await closeAll();
        file.cleanup();
      },
    };
  }
  const db = await createTestMysqlDatabase();
  return {
    open: () => track(createMysqlStore({ dsn: db.dsn, poolSize: 4 })),
    cleanup: async () => {
      await closeAll();
      await db.drop();
    },
  };
}

/** One store on a new database (not migrated) and how to dispose of both: the contract suite's MakeStore. */
export async function openTestStore(
  dialect: Dialect,
): Promise<{ store: Store; cleanup: () => Promise<void> }> {
  const db = await createTestDatabase(dialect);
  return { store: db.open(), cleanup: () => db.cleanup() };
}
