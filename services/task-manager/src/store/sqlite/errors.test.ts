// Unit tests of SQLite error translation over errors shaped as better-sqlite3 throws them.
import { describe, expect, it } from 'vitest';
import { StoreUnavailable, UniqueViolation } from '../types.js';
import { translateSqliteError } from './errors.js';

const sqliteError = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('translateSqliteError', () => {
  it.each([
    ['SQLITE_BUSY', 'busy', 1],
    ['SQLITE_BUSY_SNAPSHOT', 'busy', 1],
    ['SQLITE_READONLY', 'unreachable', 5],
    ['SQLITE_IOERR_WRITE', 'unreachable', 5],
    ['SQLITE_CANTOPEN', 'unreachable', 5],
    ['SQLITE_FULL', 'unreachable', 5],
  ])('%s becomes StoreUnavailable(%s), Retry-After %i s', (code, reason, retryAfterS) => {
    const err = translateSqliteError(new Error('Failed query', { cause: sqliteError(code) }));
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect(err).toMatchObject({ reason, retryAfterS });
  });

  it('a closed connection is StoreUnavailable(closed)', () => {
    expect(translateSqliteError(new TypeError('The database connection is not open'))).toMatchObject({
      reason: 'closed',
    });
  });

  it('corruption is left as it is (a 500 with its stack in the log: it needs a human)', () => {
    const err = sqliteError('SQLITE_CORRUPT');
    expect(translateSqliteError(err)).toBe(err);
  });

  it('unique failures stay UniqueViolation (SQLITE_BUSY is not mistaken for one, nor the reverse)', () => {
    const dup = translateSqliteError(
      sqliteError('SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed: tasks.idempotency_key'),
    );
    expect(dup).toBeInstanceOf(UniqueViolation);
    expect(translateSqliteError(dup)).toBe(dup);
  });
});
