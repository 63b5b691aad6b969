// Test fixture: a fresh, uniquely named MariaDB/MySQL database per test run, dropped afterwards.
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';

export interface TestMysqlOptions {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
}

export interface TestMysqlDatabase {
  /** mysql://user@host:port/name, ready for the store. */
  dsn: string;
  name: string;
  /** Drops the database; safe to call twice. */
  drop(): Promise<void>;
}

/**
 * Creates `tw_test_<pid>_<random>` (utf8mb4) on 127.0.0.1:3306 as root with no password unless
 * told otherwise. Throws, naming the server, when it is unreachable: a missing database is a
 * broken test environment, never a reason to skip.
 */
export async function createTestMysqlDatabase(opts: TestMysqlOptions = {}): Promise<TestMysqlDatabase> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 3306;
  const user = opts.user ?? 'root';
  const password = opts.password ?? '';
  const name = `tw_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const connect = async () => {
    try {
      return await createConnection({ host, port, user, password, connectTimeout: 5000 });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(
        `MariaDB/MySQL unreachable at ${host}:${port} as ${user} (${reason}); ` +
          'the integration tests need it running (see README)',
        { cause: err },
      );
    }
  };

  const admin = await connect();
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await admin.end();
  }

  const auth =
    password === ''
      ? encodeURIComponent(user)
      : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
  let dropped = false;
  return {
    dsn: `mysql://${auth}@${host}:${port}/${name}`,
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      const conn = await connect();
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await conn.end();
      }
    },
  };
}
