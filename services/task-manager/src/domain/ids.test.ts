// Unit tests of id generation: ULID shape and strict ordering, also within one millisecond.
import { describe, expect, it } from 'vitest';
import { ULID_PATTERN, newId } from './ids.js';

describe('newId', () => {
  it('ids are ULIDs that sort in creation order, also within one millisecond', () => {
    const now = Date.now();
    const ids = [newId(now), newId(now), newId(now), newId(now + 1), newId()];
    for (const id of ids) expect(id).toMatch(ULID_PATTERN);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
