// Unit tests of id generation: ULID shape and strict ordering, also within one millisecond.
import { describe, expect, it } from 'vitest';
import { ID_CLOCK_SLACK_MS, ULID_PATTERN, firstIdAt, idBoundsOfCreated, newId } from './ids.js';

describe('newId', () => {
  it('ids are ULIDs that sort in creation order, also within one millisecond', () => {
    const now = Date.now();
    const ids = [newId(now), newId(now), newId(now), newId(now + 1), newId()];
    for (const id of ids) expect(id).toMatch(ULID_PATTERN);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('id bounds of a created_at range', () => {
  it('firstIdAt(t) is above every id made before t and at most every id made at t or later', () => {
    const t = Date.UTC(2031, 0, 1);
    const before = newId(t - 1);
    const at = newId(t);
    const later = newId(t + 5);
    expect(before < firstIdAt(t)).toBe(true);
    expect(firstIdAt(t) <= at && at <= later).toBe(true);
    expect(firstIdAt(t)).toMatch(ULID_PATTERN);
  });

  it('an id made after the clock stepped back stays within the slack of its created_at', () => {
    const t = Date.UTC(2032, 0, 1);
    newId(t);
    const createdAt = t - 30_000; // the clock stepped back 30 s: the factory keeps time t
    const id = newId(createdAt);
    const { from, before } = idBoundsOfCreated(new Date(createdAt), new Date(createdAt + 1));
    expect(id >= from!).toBe(true);
    expect(id < before!).toBe(true);
    expect(ID_CLOCK_SLACK_MS).toBeGreaterThan(30_000);
  });

  it('no dates, no bounds', () => {
    expect(idBoundsOfCreated()).toEqual({});
  });
});
