// Shared plumbing of the store contract suite: how a describe block gets its migrated store.
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { Store } from '../types.js';

/** Returns a fresh, empty, not yet migrated store and how to dispose of it. */
export type MakeStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

/**
 * A migrated store for the enclosing describe block: one for all its tests (`'all'`), or a
 * fresh one per test (`'each'`) where tests read table-wide state (due tasks, the outbox).
 */
export function useStore(makeStore: MakeStore, per: 'all' | 'each' = 'all'): () => Store {
  let current: { store: Store; cleanup: () => Promise<void> } | undefined;
  const open = async () => {
    current = await makeStore();
    await current.store.migrate();
  };
  const close = async () => {
    await current?.cleanup();
    current = undefined;
  };
  if (per === 'all') {
    beforeAll(open);
    afterAll(close);
  } else {
    beforeEach(open);
    afterEach(close);
  }
  return () => {
    if (!current) throw new Error('store used outside a test');
    return current.store;
  };
}
