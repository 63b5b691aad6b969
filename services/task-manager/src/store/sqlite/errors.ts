// The one place SQLite errors become store errors: unique-key failures → UniqueViolation.
import { UniqueViolation } from '../types.js';

// better-sqlite3 names the columns, not the index: "UNIQUE constraint failed: tasks.idempotency_key".
const CONSTRAINTS: ReadonlyArray<[columns: string, name: UniqueViolation['constraint']]> = [
  ['templates.name_key', 'template_name'],
  ['tasks.idempotency_key', 'task_idempotency_key'],
  ['tasks.template_id, tasks.scheduled_for', 'task_schedule'],
];

/** The driver error behind drizzle's DrizzleQueryError wrapper, if any. */
function driverError(err: unknown): { code?: unknown; message?: unknown } | null {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_'))
      return e as { code: string; message?: unknown };
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/** Returns a UniqueViolation for unique/primary-key failures, else the error unchanged. */
export function translateSqliteError(err: unknown): unknown {
  const e = driverError(err);
  if (!e || (e.code !== 'SQLITE_CONSTRAINT_UNIQUE' && e.code !== 'SQLITE_CONSTRAINT_PRIMARYKEY')) return err;
  const message = String(e.message);
  const columns = message.slice(message.indexOf(':') + 1).trim();
  const found = CONSTRAINTS.find(([cols]) => cols === columns);
  return new UniqueViolation(found ? found[1] : 'other', err);
}
