// The one place SQLite errors become store errors: unique-key failures → UniqueViolation; a lock
// held past the busy timeout, an unwritable or vanished file, a closed connection → StoreUnavailable.
import { StoreUnavailable, UniqueViolation } from '../types.js';
import type { UnavailableReason } from '../types.js';

// better-sqlite3 names the columns, not the index: "UNIQUE constraint failed: tasks.idempotency_key".
const CONSTRAINTS: ReadonlyArray<[columns: string, name: UniqueViolation['constraint']]> = [
  ['templates.name_key', 'template_name'],
  ['tasks.idempotency_key', 'task_idempotency_key'],
  ['tasks.template_id, tasks.scheduled_for', 'task_schedule'],
];

/**
 * Primary result codes (extended codes start with them: SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE…)
 * that say "not now". SQLITE_CORRUPT and SQLITE_NOTADB are left alone: they need a human, and the
 * 500 they become is logged with its stack.
 */
const UNAVAILABLE: ReadonlyArray<[prefix: string, reason: UnavailableReason]> = [
  ['SQLITE_BUSY', 'busy'], // another connection or process held the lock past busy_timeout
  ['SQLITE_LOCKED', 'busy'],
  ['SQLITE_CANTOPEN', 'unreachable'],
  ['SQLITE_IOERR', 'unreachable'],
  ['SQLITE_READONLY', 'unreachable'],
  ['SQLITE_PERM', 'unreachable'],
  ['SQLITE_FULL', 'unreachable'],
];

/** The driver error behind drizzle's DrizzleQueryError wrapper, if any. */
function driverError(err: unknown): { code?: unknown; message?: unknown } | null {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (e instanceof UniqueViolation || e instanceof StoreUnavailable) return null;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_'))
      return e as { code: string; message?: unknown };
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/** better-sqlite3 throws a TypeError without a code once the connection is closed. */
function isClosed(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; depth++) {
    if (e.message === 'The database connection is not open') return true;
    e = e.cause;
  }
  return false;
}

/**
 * UniqueViolation for unique/primary-key failures, StoreUnavailable for "not now" (HTTP answers
 * 503), else the error unchanged (a bug: HTTP answers 500).
 */
export function translateSqliteError(err: unknown): unknown {
  if (err instanceof UniqueViolation || err instanceof StoreUnavailable) return err;
  if (isClosed(err)) return new StoreUnavailable('closed', 'the SQLite store is closed', err);
  const e = driverError(err);
  if (!e) return err;
  const code = String(e.code);
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const message = String(e.message);
    const columns = message.slice(message.indexOf(':') + 1).trim();
    const found = CONSTRAINTS.find(([cols]) => cols === columns);
    return new UniqueViolation(found ? found[1] : 'other', err);
  }
  const reason = UNAVAILABLE.find(([prefix]) => code === prefix || code.startsWith(`${prefix}_`))?.[1];
  if (!reason) return err;
  const what =
    reason === 'busy'
      ? 'the SQLite database is locked by another connection'
      : 'the SQLite database cannot be used';
  return new StoreUnavailable(reason, `${what} (${code})`, err);
}
