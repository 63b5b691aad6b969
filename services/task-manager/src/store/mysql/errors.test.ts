// Unit tests of MySQL error translation and the conflict retry, over errors shaped as mysql2 and drizzle throw them.
import { describe, expect, it } from 'vitest';
import { StoreUnavailable, UniqueViolation } from '../types.js';
import { translateMysqlError } from './errors.js';
import { withConflictRetry } from './retry.js';

/** A mysql2 error as drizzle wraps it (DrizzleQueryError: query + params, the driver error as cause). */
function wrapped(fields: Record<string, unknown>, message = 'driver error'): Error {
  const driver = Object.assign(new Error(message), fields);
  return new Error('Failed query: update `tasks` set …', { cause: driver });
}

describe('translateMysqlError', () => {
  it.each([
    [{ errno: 1213, code: 'ER_LOCK_DEADLOCK' }, 'deadlock', 1],
    [{ errno: 1205, code: 'ER_LOCK_WAIT_TIMEOUT' }, 'lock_timeout', 1],
    [{ errno: -111, code: 'ECONNREFUSED', fatal: true }, 'unreachable', 5],
    [{ code: 'PROTOCOL_CONNECTION_LOST', fatal: true }, 'unreachable', 5],
    [{ errno: 1040, code: 'ER_CON_COUNT_ERROR' }, 'saturated', 1],
    [{ errno: 1049, code: 'ER_BAD_DB_ERROR' }, 'unreachable', 5],
  ])('%o becomes StoreUnavailable(%s) with Retry-After %i s', (fields, reason, retryAfterS) => {
    const err = translateMysqlError(wrapped(fields));
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect(err).toMatchObject({ reason, retryAfterS });
    expect((err as Error).message).toContain(String(fields.code));
  });

  it("mysql2's pool errors without a code: a full queue is saturated, a closed pool is closed", () => {
    expect(translateMysqlError(new Error('Queue limit reached.'))).toMatchObject({ reason: 'saturated' });
    expect(translateMysqlError(new Error('Pool is closed.'))).toMatchObject({ reason: 'closed' });
  });

  it('a duplicate key is still a UniqueViolation naming the constraint; translating twice changes nothing', () => {
    const dup = translateMysqlError(
      wrapped({
        errno: 1062,
        code: 'ER_DUP_ENTRY',
        sqlMessage: "Duplicate entry 'k' for key 'tasks_idempotency_key_uq'",
      }),
    );
    expect(dup).toBeInstanceOf(UniqueViolation);
    expect(dup).toMatchObject({ constraint: 'task_idempotency_key' });
    expect(translateMysqlError(dup)).toBe(dup);
    const down = translateMysqlError(wrapped({ code: 'ECONNRESET' }));
    expect(translateMysqlError(down)).toBe(down);
  });

  it('a syntax error (a bug, not an outage) is left as it is', () => {
    const err = wrapped({ errno: 1064, code: 'ER_PARSE_ERROR' });
    expect(translateMysqlError(err)).toBe(err);
  });

  it('the message carries the code only, never the driver text (which may name hosts and users)', () => {
    const err = translateMysqlError(
      wrapped({ errno: 1045, code: 'ER_ACCESS_DENIED_ERROR' }, "Access denied for user 'tw'@'10.0.0.7'"),
    );
    expect((err as Error).message).toBe('the MySQL server is unreachable (ER_ACCESS_DENIED_ERROR)');
  });
});

describe('withConflictRetry', () => {
  const conflict = (errno: number) => translateMysqlError(wrapped({ errno }));

  it('a lock-wait timeout is retried and the second run succeeds', async () => {
    let runs = 0;
    const out = await withConflictRetry(
      async () => {
        if (++runs === 1) throw conflict(1205);
        return 'done';
      },
      { baseDelayMs: 1 },
    );
    expect(out).toBe('done');
    expect(runs).toBe(2);
  });

  it('gives up after the bounded number of retries and throws the last conflict', async () => {
    let runs = 0;
    const err = await withConflictRetry(
      async () => {
        runs++;
        throw conflict(1213);
      },
      { retries: 3, baseDelayMs: 1 },
    ).catch((e: unknown) => e);
    expect(runs).toBe(4);
    expect(err).toMatchObject({ reason: 'deadlock' });
  });

  it('never retries other errors, an unreachable server included (its commit may have happened)', async () => {
    let runs = 0;
    const down = translateMysqlError(wrapped({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true }));
    await expect(
      withConflictRetry(
        async () => {
          runs++;
          throw down;
        },
        { baseDelayMs: 1 },
      ),
    ).rejects.toBe(down);
    expect(runs).toBe(1);
  });
});
