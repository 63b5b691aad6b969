// Runs the store contract suite on a SQLite file (WAL) per store.
import { createTestSqliteFile } from '@taskwire/testkit';
import { storeContract } from './contract.js';
import { createSqliteStore } from './sqlite/index.js';

storeContract('sqlite', async () => {
  const file = createTestSqliteFile();
  const store = createSqliteStore({ file: file.file });
  return {
    store,
    cleanup: async () => {
      await store.close();
      file.cleanup();
    },
  };
});
