// The MariaDB fixture: a usable database per call, and a clear error (never a skip) without a server.
import { createConnection } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { createTestMysqlDatabase } from './mysql.js';

describe('createTestMysqlDatabase', () => {
  it('creates a uniquely named utf8mb4 database and drops it', async () => {
    const [a, b] = await Promise.all([createTestMysqlDatabase(), createTestMysqlDatabase()]);
    expect(a.name).not.toBe(b.name);
    const conn = await createConnection({ uri: a.dsn });
    try {
      const [rows] = await conn.query('SELECT @@character_set_database AS cs');
      expect((rows as Array<{ cs: string }>)[0]?.cs).toBe('utf8mb4');
    } finally {
      await conn.end();
    }
    await Promise.all([a.drop(), b.drop(), a.drop()]);
    await expect(createConnection({ uri: a.dsn })).rejects.toThrow(/Unknown database/);
  });

  it('throws naming the server when MariaDB is unreachable', async () => {
    await expect(createTestMysqlDatabase({ port: 1 })).rejects.toThrow(
      /unreachable at 127\.0\.0\.1:1 as root/,
    );
  });
});
