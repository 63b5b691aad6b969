// Runs the store contract suite on a fresh MariaDB/MySQL database per store.
import { createTestMysqlDatabase } from '@taskwire/testkit';
import { storeContract } from './contract.js';
import { createMysqlStore } from './mysql/index.js';

storeContract('mysql', async () => {
  const db = await createTestMysqlDatabase();
  const store = createMysqlStore({ dsn: db.dsn, poolSize: 4 });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await db.drop();
    },
  };
});
