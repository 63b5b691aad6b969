// Sortable ids: monotonic ULIDs, so ids order by creation (cursor pagination) and inserts stay sequential.
import { randomFillSync } from 'node:crypto';
import { TIME_MAX, encodeTime, monotonicFactory } from 'ulid';

// ulid's default PRNG makes one crypto call per character (16 per id in a new millisecond, ~90 µs
// under load); drawing the same crypto bytes from a pool costs a fraction of that.
const pool = new Uint8Array(4096);
let used = pool.length;
function pooledRandom(): number {
  if (used >= pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  return pool[used++]! / 256;
}

const next = monotonicFactory(pooledRandom);

/** A new 26-character ULID, strictly greater than every id this process made before. */
export function newId(now: number = Date.now()): string {
  return next(now);
}

export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * How far a task id's time may run ahead of its created_at: ids come from newId(createdAt) and
 * only run ahead when the clock steps back while ids are made (the factory keeps its last time).
 */
export const ID_CLOCK_SLACK_MS = 60_000;

/** The smallest id whose time is `ms` or later (every id made at or after `ms` is ≥ it). */
export function firstIdAt(ms: number): string {
  return `${encodeTime(Math.max(0, Math.min(ms, TIME_MAX)), 10)}${'0'.repeat(16)}`;
}

/**
 * Id bounds implied by a created_at range, so that a list filtered by creation time reads a range of
 * the primary key in id order instead of sorting the range of created_at: `from` (inclusive) from
 * createdFrom (an id's time is never before its created_at), `before` (exclusive) from createdTo +
 * ID_CLOCK_SLACK_MS. The created_at conditions still apply; these only narrow the read.
 */
export function idBoundsOfCreated(createdFrom?: Date, createdTo?: Date): { from?: string; before?: string } {
  return {
    ...(createdFrom ? { from: firstIdAt(createdFrom.getTime()) } : {}),
    ...(createdTo ? { before: firstIdAt(createdTo.getTime() + ID_CLOCK_SLACK_MS) } : {}),
  };
}
