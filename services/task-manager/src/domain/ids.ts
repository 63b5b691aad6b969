// Sortable ids: monotonic ULIDs, so ids order by creation (cursor pagination) and inserts stay sequential.
import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

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
