// The DB_DSN password never appears in what the manager prints, even when start-up fails on the DSN.
import { describe, expect, it } from 'vitest';
import { runToExit } from './support/processes.js';

const MANAGER = 'services/task-manager/dist/main.js';
const PASSWORD = 'Hunter2-not-for-logs';

describe('task-manager start-up failures', () => {
  it.each([
    ['a refused connection', `mysql://root:${PASSWORD}@127.0.0.1:1/nowhere`],
    [
      'a DSN the URL parser rejects (its error carries the whole input)',
      `mysql://root:${PASSWORD}@127.0.0.1:99999/nowhere`,
    ],
  ])('%s exits 1 without printing the password', async (_what, dsn) => {
    const { code, output } = await runToExit(MANAGER, {
      DB_TYPE: 'mysql',
      DB_DSN: dsn,
      KAFKA_ENABLED: '0',
      LOG_LEVEL: 'info',
    });
    expect(code).toBe(1);
    expect(output).toContain('task-manager failed to start');
    expect(output).not.toContain(PASSWORD);
    expect(output).not.toContain(encodeURIComponent(PASSWORD));
  });
});
