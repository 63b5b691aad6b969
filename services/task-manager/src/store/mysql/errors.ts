// The one place MySQL/MariaDB errors become store errors: ER_DUP_ENTRY (1062) → UniqueViolation.
import { UniqueViolation } from '../types.js';

// The message names the index: "… for key 'tasks_schedule_uq'" (MariaDB) or
// "… for key 'tasks.tasks_schedule_uq'" (MySQL 8).
const CONSTRAINTS: ReadonlyArray<[index: string, name: UniqueViolation['constraint']]> = [
  ['templates_name_key_uq', 'template_name'],
  ['tasks_idempotency_key_uq', 'task_idempotency_key'],
  ['tasks_schedule_uq', 'task_schedule'],
];

/** The mysql2 error behind drizzle's DrizzleQueryError wrapper, if any. */
function driverError(
  err: unknown,
): { errno?: unknown; code?: unknown; sqlMessage?: unknown; message?: unknown } | null {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (typeof (e as { errno?: unknown }).errno === 'number') return e as { errno: number };
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/** Returns a UniqueViolation for duplicate-key failures, else the error unchanged. */
export function translateMysqlError(err: unknown): unknown {
  const e = driverError(err);
  if (!e || (e.errno !== 1062 && e.code !== 'ER_DUP_ENTRY')) return err;
  const match = /for key '([^']+)'/.exec(String(e.sqlMessage ?? e.message));
  const key = match?.[1]?.split('.').pop();
  const found = CONSTRAINTS.find(([index]) => index === key);
  return new UniqueViolation(found ? found[1] : 'other', err);
}
