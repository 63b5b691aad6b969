// Test fixture: domain deps over a fresh, migrated SQLite file (a real store) with quiet logs.
import { pino } from 'pino';
import { systemClock } from '../domain/clock.js';
import type { DomainDeps } from '../domain/deps.js';
import { noSignals } from '../domain/deps.js';
import type { Store } from '../store/types.js';
import { openTestStore } from './stores.js';

export interface SqliteDeps {
  deps: DomainDeps;
  store: Store;
  /** Closes the store and deletes its file. */
  close(): Promise<void>;
}

/** Real store, system clock (override with `clock`), silent logger, no-op signals unless given. */
export async function openSqliteDeps(
  overrides: Partial<Omit<DomainDeps, 'store'>> = {},
): Promise<SqliteDeps> {
  const { store, cleanup } = await openTestStore('sqlite');
  await store.migrate();
  return {
    store,
    deps: {
      store,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      settings: { dispatchTopic: 'dispatch', controlTopic: 'control' },
      signals: noSignals,
      ...overrides,
    },
    close: cleanup,
  };
}
