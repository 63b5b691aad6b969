// MySQL-only store behaviour: how times look to other clients of the server, the migration lock
// between replicas starting together, and connection failures. SQLite has no server, no session
// time zone and no concurrent migrators, so none of this applies there.
import { createTestMysqlDatabase } from '@taskwire/testkit';
import type { TestMysqlDatabase } from '@taskwire/testkit';
import { createConnection } from 'mysql2/promise';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { T0, makeTask } from './contract/fixtures.js';
import { createMysqlStore } from './mysql/index.js';

describe('mysql store', () => {
  let db: TestMysqlDatabase;
  beforeEach(async () => {
    db = await createTestMysqlDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  it('times are stored as UTC wall-clock DATETIME(3), whatever the reader’s time zone', async () => {
    const store = createMysqlStore({ dsn: db.dsn });
    try {
      await store.migrate();
      const t = makeTask({ createdAt: T0 });
      await store.insertTasks([t]);
      const conn = await createConnection({ uri: db.dsn, timezone: '+05:00' });
      try {
        await conn.query("SET time_zone = '+05:00'");
        const [rows] = await conn.query('SELECT CAST(created_at AS CHAR) AS v FROM tasks WHERE id = ?', [
          t.id,
        ]);
        expect((rows as Array<{ v: string }>)[0]?.v).toBe('2030-01-02 03:04:05.678');
      } finally {
        await conn.end();
      }
      expect((await store.getTask(t.id))?.createdAt).toEqual(T0);
    } finally {
      await store.close();
    }
  });

  it('replicas migrating the same database at once both succeed', async () => {
    const a = createMysqlStore({ dsn: db.dsn, poolSize: 2 });
    const b = createMysqlStore({ dsn: db.dsn, poolSize: 2 });
    try {
      await Promise.all([a.migrate(), b.migrate()]);
      await Promise.all([a.ping(), b.ping()]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('mysql store without a server', () => {
  it('ping names the server it cannot reach', async () => {
    const store = createMysqlStore({ dsn: 'mysql://root:secret@127.0.0.1:1/nowhere' });
    try {
      await expect(store.ping()).rejects.toThrow(
        /mysql:\/\/root:\*\*\*@127\.0\.0\.1:1\/nowhere is unreachable/,
      );
    } finally {
      await store.close();
    }
  });
});
