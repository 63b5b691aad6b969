// Admission's round-robin order: least-loaded key first, oldest head on ties, a key stopped at its limit.
import { describe, expect, it } from 'vitest';
import { roundRobin } from './round-robin.js';

const heads = (...ids: string[]) => ids.map((id) => ({ id, limit: 2 }));

describe('roundRobin', () => {
  it('serves the least-loaded key first and the older head between equal loads', () => {
    const { taken } = roundRobin(
      [
        { key: 'a', load: 0, heads: heads('a1', 'a2') },
        { key: 'b', load: 1, heads: heads('b1') },
        { key: 'c', load: 0, heads: heads('c1') },
      ],
      10,
      (h) => h.limit,
    );
    // a1 (load 0, oldest), c1 (load 0), then a2 and b1 both at load 1: a2 < b1.
    expect(taken.map((h) => h.id)).toEqual(['a1', 'c1', 'a2', 'b1']);
  });

  it('stops a key at its limit and takes no more than the slots', () => {
    const { taken, stopped } = roundRobin(
      [
        { key: 'a', load: 2, heads: heads('a1') },
        { key: 'b', load: 0, heads: heads('b1', 'b2', 'b3') },
      ],
      5,
      (h) => h.limit,
    );
    expect(taken.map((h) => h.id)).toEqual(['b1', 'b2']);
    expect(stopped.sort()).toEqual(['a', 'b']);
    expect(
      roundRobin([{ key: 'b', load: 0, heads: heads('b1', 'b2') }], 1, (h) => h.limit).taken,
    ).toHaveLength(1);
  });

  it('unkeyed heads have no per-key limit and count as load 0', () => {
    const { taken } = roundRobin(
      [
        { key: null, load: 5, heads: heads('n1', 'n2', 'n3') },
        { key: 'a', load: 1, heads: heads('a1') },
      ],
      10,
      () => 1,
    );
    expect(taken.map((h) => h.id)).toEqual(['n1', 'n2', 'n3']);
  });
});
