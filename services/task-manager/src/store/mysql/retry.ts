// Retries a MySQL unit of work (or single operation) that lost a deadlock or timed out on a lock.
import type { Logger } from 'pino';
import { isRetryableConflict } from './errors.js';

export interface ConflictRetryOptions {
  /** Retries after the first run (default 3: four runs in all). */
  retries?: number;
  /** First backoff in ms, doubled per retry, ±50% jitter (default 10). */
  baseDelayMs?: number;
  log?: Logger;
}

export const DEFAULT_CONFLICT_RETRIES = 3;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` again when it fails with a deadlock (1213) or lock-wait timeout (1205), already
 * translated to StoreUnavailable. InnoDB rolled the loser back, so a second run starts clean; the
 * jitter keeps two losers from meeting again in lockstep. Any other error, or the last conflict,
 * is thrown as it is.
 */
export async function withConflictRetry<T>(
  fn: () => Promise<T>,
  opts: ConflictRetryOptions = {},
): Promise<T> {
  const retries = opts.retries ?? DEFAULT_CONFLICT_RETRIES;
  const base = opts.baseDelayMs ?? 10;
  for (let retry = 0; ; retry++) {
    try {
      return await fn();
    } catch (err) {
      if (!isRetryableConflict(err) || retry >= retries) throw err;
      const delayMs = Math.round(base * 2 ** retry * (0.5 + Math.random()));
      opts.log?.warn({ reason: err.reason, retry: retry + 1, delayMs }, 'mysql conflict; retrying');
      await sleep(delayMs);
    }
  }
}
