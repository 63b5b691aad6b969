// Tells a message that cannot be applied (poison: dead-letter it) from a database that is down (transient: retry).
import { StoreUnavailable } from '../store/types.js';
import type { Store } from '../store/types.js';

/** How often one message is applied alone before it counts as poison. */
export const DEFAULT_APPLY_TRIES = 3;

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_FULL',
  'SQLITE_CANTOPEN',
  'SQLITE_IOERR',
]);
const TRANSIENT_TEXT =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|connection (lost|closed|refused)|pool is closed|deadlock|lock wait timeout|database is locked|too many connections|unavailable/i;

/**
 * Whether `err` (or a cause of it) says the database could not be reached or was busy: the store's
 * StoreUnavailable (its adapters translate driver errors into it), or a driver error that escaped
 * translation.
 */
export function looksTransient(err: unknown): boolean {
  if (err instanceof StoreUnavailable) return true;
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (TRANSIENT_CODES.has(code) || code.startsWith('SQLITE_IOERR')))
      return true;
    if (e instanceof StoreUnavailable) return true;
    if (typeof message === 'string' && TRANSIENT_TEXT.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * A failure is transient when the error says so or the database does not answer a ping: then the
 * message must not be dead-lettered, only retried (its offset stays uncommitted). Anything else,
 * with a healthy database, is a property of the message.
 */
export async function isTransientFailure(store: Store, err: unknown): Promise<boolean> {
  if (looksTransient(err)) return true;
  try {
    await store.ping();
    return false;
  } catch {
    return true;
  }
}

/**
 * Runs `apply` up to `tries` times. Resolves null once it succeeds, or the last error's message
 * when every try failed with a healthy database (poison). Rethrows a transient failure at once.
 */
export async function applyWithTries(
  store: Store,
  tries: number,
  apply: () => Promise<unknown>,
): Promise<string | null> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      await apply();
      return null;
    } catch (err) {
      if (await isTransientFailure(store, err)) throw err;
      last = err;
    }
  }
  const reason = last instanceof Error ? last.message : String(last);
  return `could not be applied after ${tries} tries: ${reason}`;
}
