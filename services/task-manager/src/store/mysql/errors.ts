// The one place MySQL/MariaDB errors become store errors: ER_DUP_ENTRY (1062) → UniqueViolation;
// a lost/refused/saturated server, deadlocks and lock-wait timeouts → StoreUnavailable.
import { StoreUnavailable, UniqueViolation } from '../types.js';
import type { UnavailableReason } from '../types.js';

// The message names the index: "… for key 'tasks_schedule_uq'" (MariaDB) or
// "… for key 'tasks.tasks_schedule_uq'" (MySQL 8).
const CONSTRAINTS: ReadonlyArray<[index: string, name: UniqueViolation['constraint']]> = [
  ['templates_name_key_uq', 'template_name'],
  ['tasks_idempotency_key_uq', 'task_idempotency_key'],
  ['tasks_schedule_uq', 'task_schedule'],
];

/** Server error numbers that mean "not now" rather than "never". */
const UNAVAILABLE_ERRNO: ReadonlyMap<number, UnavailableReason> = new Map([
  [1213, 'deadlock'], // ER_LOCK_DEADLOCK: the transaction was rolled back; running it again may succeed
  [1205, 'lock_timeout'], // ER_LOCK_WAIT_TIMEOUT
  [1040, 'saturated'], // ER_CON_COUNT_ERROR: too many connections
  [1203, 'saturated'], // ER_TOO_MANY_USER_CONNECTIONS
  [1053, 'unreachable'], // ER_SERVER_SHUTDOWN
  [1927, 'unreachable'], // ER_CONNECTION_KILLED (MariaDB)
  [1049, 'unreachable'], // ER_BAD_DB_ERROR: the database is gone (dropped, not yet restored)
  [1045, 'unreachable'], // ER_ACCESS_DENIED_ERROR: credentials revoked or changed under us
  [1129, 'unreachable'], // ER_HOST_IS_BLOCKED
]);

/** Client-side codes (mysql2 and Node sockets) for a server we cannot talk to. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'PROTOCOL_ENQUEUE_HANDSHAKE_TWICE',
]);

interface DriverError {
  errno?: unknown;
  code?: unknown;
  fatal?: unknown;
  sqlMessage?: unknown;
  message?: unknown;
}

/**
 * The mysql2 (or socket) error behind drizzle's DrizzleQueryError wrapper, if any. Stops at our
 * own store errors so that translating twice changes nothing.
 */
function driverError(err: unknown): DriverError | null {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (e instanceof UniqueViolation || e instanceof StoreUnavailable) return null;
    const d = e as DriverError;
    if (typeof d.errno === 'number' || typeof d.code === 'string') return d;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/** mysql2's pool reports these as plain Errors, without a code. */
function poolError(err: unknown): UnavailableReason | null {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; depth++) {
    if (e.message === 'Queue limit reached.') return 'saturated';
    if (e.message === 'Pool is closed.') return 'closed';
    if (/^Can't add new command when connection is in closed state/.test(e.message)) return 'unreachable';
    e = e.cause;
  }
  return null;
}

const DESCRIPTION: Readonly<Record<UnavailableReason, string>> = {
  unreachable: 'the MySQL server is unreachable',
  closed: 'the MySQL store is closed',
  busy: 'the MySQL server is busy',
  saturated: 'too many operations are waiting for a MySQL connection',
  deadlock: 'a MySQL deadlock persisted through retries',
  lock_timeout: 'a MySQL lock wait timed out through retries',
};

function unavailable(reason: UnavailableReason, code: unknown, err: unknown): StoreUnavailable {
  // The code only (ECONNREFUSED, ER_LOCK_DEADLOCK…): driver messages may name hosts and users.
  const suffix = typeof code === 'string' ? ` (${code})` : '';
  return new StoreUnavailable(reason, `${DESCRIPTION[reason]}${suffix}`, err);
}

/**
 * UniqueViolation for duplicate keys, StoreUnavailable for a server that cannot serve now (the
 * caller may retry; HTTP answers 503), else the error unchanged (a bug: HTTP answers 500).
 */
export function translateMysqlError(err: unknown): unknown {
  if (err instanceof UniqueViolation || err instanceof StoreUnavailable) return err;
  const pool = poolError(err);
  if (pool) return unavailable(pool, undefined, err);
  const e = driverError(err);
  if (!e) return err;
  if (e.errno === 1062 || e.code === 'ER_DUP_ENTRY') {
    const match = /for key '([^']+)'/.exec(String(e.sqlMessage ?? e.message));
    const key = match?.[1]?.split('.').pop();
    const found = CONSTRAINTS.find(([index]) => index === key);
    return new UniqueViolation(found ? found[1] : 'other', err);
  }
  const byErrno = typeof e.errno === 'number' ? UNAVAILABLE_ERRNO.get(e.errno) : undefined;
  if (byErrno) return unavailable(byErrno, e.code, err);
  // `fatal`: mysql2 marks errors after which the connection is unusable (lost, reset, refused).
  if ((typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) || e.fatal === true) {
    return unavailable('unreachable', e.code, err);
  }
  return err;
}

/** Deadlocks and lock-wait timeouts: the transaction (or statement) was rolled back; run it again. */
export function isRetryableConflict(err: unknown): err is StoreUnavailable {
  return err instanceof StoreUnavailable && (err.reason === 'deadlock' || err.reason === 'lock_timeout');
}
