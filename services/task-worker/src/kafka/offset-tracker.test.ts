import { describe, expect, it } from 'vitest';
import { OffsetTracker } from './offset-tracker.js';

function tracker(): OffsetTracker {
  return new OffsetTracker('t', 0);
}

describe('OffsetTracker', () => {
  it('has nothing to commit before the first message', () => {
    const t = tracker();
    expect(t.position()).toBeUndefined();
    expect(t.uncommitted()).toBeUndefined();
  });

  it('commits up to the first task still running', () => {
    const t = tracker();
    for (const o of [10, 11, 12]) t.start(o);
    expect(t.position()).toBe(10);
    expect(t.finish(10)).toBe(true);
    expect(t.position()).toBe(11);
  });

  it('holds the position while an earlier task runs, then jumps past every finished one', () => {
    const t = tracker();
    for (const o of [0, 1, 2, 3, 4]) t.start(o);
    expect(t.finish(3)).toBe(false);
    expect(t.finish(1)).toBe(false);
    expect(t.finish(4)).toBe(false);
    expect(t.position()).toBe(0);
    expect(t.finish(0)).toBe(true);
    expect(t.position()).toBe(2);
    expect(t.finish(2)).toBe(true);
    expect(t.position()).toBe(5);
    expect(t.pending).toBe(0);
  });

  it('skips offsets the log never delivered (gaps from compaction or transaction markers)', () => {
    const t = tracker();
    for (const o of [5, 9, 20]) t.start(o);
    t.finish(9);
    expect(t.position()).toBe(5);
    t.finish(5);
    expect(t.position()).toBe(20);
    t.finish(20);
    expect(t.position()).toBe(21);
  });

  it('ignores a finish for an offset that never started or already finished', () => {
    const t = tracker();
    t.start(1);
    t.start(2);
    expect(t.finish(7)).toBe(false);
    expect(t.finish(1)).toBe(true);
    expect(t.finish(1)).toBe(false);
    expect(t.position()).toBe(2);
  });

  it('reports a position once until it moves again', () => {
    const t = tracker();
    t.start(0);
    t.finish(0);
    expect(t.uncommitted()).toBe(1);
    t.markCommitted(1);
    expect(t.uncommitted()).toBeUndefined();
    t.start(1);
    expect(t.uncommitted()).toBeUndefined(); // still 1: the task at 1 runs
    t.finish(1);
    expect(t.uncommitted()).toBe(2);
  });

  it('never moves the committed mark backwards', () => {
    const t = tracker();
    t.start(0);
    t.finish(0);
    t.markCommitted(1);
    t.markCommitted(0);
    expect(t.uncommitted()).toBeUndefined();
  });

  it('accepts only offsets past the highest seen, so a re-fetch after a rebalance runs nothing twice', () => {
    const t = tracker();
    for (const o of [3, 4, 5]) t.start(o);
    t.finish(4);
    expect(t.accepts(3)).toBe(false);
    expect(t.accepts(4)).toBe(false);
    expect(t.accepts(5)).toBe(false);
    expect(t.accepts(6)).toBe(true);
    expect(() => t.start(5)).toThrow(/offset 5 of t\/0 started after 5/);
  });

  it('after revocation, tasks finishing late commit nothing and nothing more is accepted', () => {
    const t = tracker();
    for (const o of [0, 1, 2]) t.start(o);
    t.finish(0);
    t.revoke();
    expect(t.revoked).toBe(true);
    expect(t.finish(1)).toBe(false);
    expect(t.finish(2)).toBe(false);
    expect(t.uncommitted()).toBeUndefined();
    expect(t.accepts(3)).toBe(false);
  });

  it('a new tracker for a re-assigned partition starts from whatever the broker delivers', () => {
    const old = tracker();
    old.start(0);
    old.revoke();
    const fresh = tracker();
    expect(fresh.accepts(0)).toBe(true);
    fresh.start(0);
    expect(old.finish(0)).toBe(false);
    expect(fresh.position()).toBe(0);
    fresh.finish(0);
    expect(fresh.position()).toBe(1);
  });

  it('stays correct over many out-of-order completions (the started list is compacted)', () => {
    const t = tracker();
    const n = 5000;
    for (let o = 0; o < n; o++) t.start(o);
    // finish odd offsets first, then even ones in reverse
    for (let o = 1; o < n; o += 2) t.finish(o);
    expect(t.position()).toBe(0);
    for (let o = n - 2; o >= 2; o -= 2) t.finish(o);
    expect(t.position()).toBe(0);
    t.finish(0);
    expect(t.position()).toBe(n);
    for (let o = n; o < n + 3000; o++) {
      t.start(o);
      t.finish(o);
    }
    expect(t.position()).toBe(n + 3000);
    expect(t.pending).toBe(0);
  });
});
