// Unit tests of the group-commit batcher: coalescing, per-item outcomes, isolation of a failing batch.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StoreUnavailable } from '../store/types.js';
import { AppError } from './errors.js';
import { GroupCommit } from './group-commit.js';
import type { ItemResult } from './group-commit.js';

function recorder(fn: (items: number[]) => ItemResult<number>[] | Promise<ItemResult<number>[]>) {
  const batches: number[][] = [];
  const gc = new GroupCommit<number, number>({
    run: async (items) => {
      batches.push([...items]);
      return fn(items);
    },
    maxBatch: 4,
  });
  return { gc, batches };
}

const double = (items: number[]): ItemResult<number>[] => items.map((n) => ({ ok: true, value: n * 2 }));

describe('GroupCommit', () => {
  it('items submitted in the same turn run as one batch, each caller gets its own value', async () => {
    const { gc, batches } = recorder(double);
    const out = await Promise.all([1, 2, 3].map((n) => gc.submit(n)));
    expect(out).toEqual([2, 4, 6]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('batches are capped at maxBatch', async () => {
    const { gc, batches } = recorder(double);
    await Promise.all([1, 2, 3, 4, 5, 6].map((n) => gc.submit(n)));
    expect(batches).toEqual([
      [1, 2, 3, 4],
      [5, 6],
    ]);
  });

  it('items arriving while a batch commits form the next batch', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { gc, batches } = recorder(async (items) => {
      if (items[0] === 1) await gate;
      return double(items);
    });
    const first = gc.submit(1);
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[1]]);
    const later = [gc.submit(2), gc.submit(3)];
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[1]]); // still committing: 2 and 3 wait
    release();
    expect(await Promise.all([first, ...later])).toEqual([2, 4, 6]);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it('an item that fails validation fails alone', async () => {
    const { gc } = recorder((items) =>
      items.map((n) =>
        n === 2 ? { ok: false, error: new Error('two is invalid') } : { ok: true, value: n },
      ),
    );
    const out = await Promise.allSettled([1, 2, 3].map((n) => gc.submit(n)));
    expect(out.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((out[1] as PromiseRejectedResult).reason.message).toBe('two is invalid');
  });

  it('a batch that throws is retried item by item, so only the poisonous item fails', async () => {
    const { gc, batches } = recorder((items) => {
      if (items.includes(13)) throw new Error('13 breaks the transaction');
      return double(items);
    });
    const out = await Promise.allSettled([1, 13, 3].map((n) => gc.submit(n)));
    expect(out.map((r) => (r.status === 'fulfilled' ? r.value : 'failed'))).toEqual([2, 'failed', 6]);
    expect(batches).toEqual([[1, 13, 3], [1], [13], [3]]);
  });

  it('a batch failing because the database is unavailable fails every item at once, without re-running each', async () => {
    const down = new StoreUnavailable('unreachable', 'the MySQL server is unreachable (ECONNREFUSED)');
    const { gc, batches } = recorder(() => {
      throw down;
    });
    const out = await Promise.allSettled([1, 2, 3].map((n) => gc.submit(n)));
    expect(out.map((r) => (r.status === 'rejected' ? r.reason : 'resolved'))).toEqual([down, down, down]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('a full queue refuses the next item at once with 503 unavailable and a retry hint, then takes items again', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const gc = new GroupCommit<number, number>({
      run: async (items) => {
        await gate;
        return double(items);
      },
      maxBatch: 2,
      maxQueued: 3,
    });
    const first = gc.submit(1);
    await new Promise((r) => setImmediate(r)); // item 1 is now being committed, the queue is empty
    const waiting = [2, 3, 4].map((n) => gc.submit(n));
    expect(gc.queued).toBe(3);
    const refused = await gc.submit(5).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({
      code: 'unavailable',
      status: 503,
      details: { reason: 'queue_full', retry_after_s: 1 },
    });
    release();
    await expect(Promise.all([first, ...waiting])).resolves.toEqual([2, 4, 6, 8]);
    await expect(gc.submit(6)).resolves.toBe(12);
  });

  it('drain resolves once everything submitted has settled', async () => {
    const { gc } = recorder(double);
    const p = gc.submit(1);
    await gc.drain();
    await expect(p).resolves.toBe(2);
    await gc.drain();
  });

  describe('with minIntervalMs (batch starts paced while batches hold several items)', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    function paced(minIntervalMs: number, commitMs = 0) {
      vi.useFakeTimers({ toFake: ['setTimeout', 'setImmediate', 'performance'] });
      const batches: Array<{ items: number[]; at: number }> = [];
      const gc = new GroupCommit<number, number>({
        run: async (items) => {
          batches.push({ items: [...items], at: performance.now() });
          if (commitMs > 0) await new Promise((r) => setTimeout(r, commitMs));
          return double(items);
        },
        minIntervalMs,
      });
      return { gc, batches };
    }

    it('after a batch of several items, items arriving within the interval of its start wait for it and share one batch', async () => {
      const { gc, batches } = paced(10);
      const out = [gc.submit(1), gc.submit(2)];
      await vi.advanceTimersByTimeAsync(1);
      out.push(gc.submit(3));
      await vi.advanceTimersByTimeAsync(3);
      out.push(gc.submit(4));
      await vi.advanceTimersByTimeAsync(5); // t = 9: one batch so far
      expect(batches.map((b) => b.items)).toEqual([[1, 2]]);
      await vi.advanceTimersByTimeAsync(1); // t = 10: never held past the interval
      expect(batches).toEqual([
        { items: [1, 2], at: 0 },
        { items: [3, 4], at: 10 },
      ]);
      await expect(Promise.all(out)).resolves.toEqual([2, 4, 6, 8]);
    });

    it('after a batch of one item the next is committed at once: a client sending one request at a time never waits', async () => {
      const { gc, batches } = paced(10);
      await vi.advanceTimersByTimeAsync(0);
      const first = gc.submit(1);
      await vi.advanceTimersByTimeAsync(0);
      await expect(first).resolves.toBe(2);
      await vi.advanceTimersByTimeAsync(1);
      const second = gc.submit(2);
      await vi.advanceTimersByTimeAsync(0);
      expect(batches).toEqual([
        { items: [1], at: 0 },
        { items: [2], at: 1 },
      ]);
      await expect(second).resolves.toBe(4);
    });

    it('an item after a quiet spell is committed at once, even after a batch of several', async () => {
      const { gc, batches } = paced(10);
      await Promise.all([gc.submit(1), gc.submit(2), vi.advanceTimersByTimeAsync(0)]);
      await vi.advanceTimersByTimeAsync(50); // quiet: longer than the interval since the last batch
      const q = gc.submit(3);
      await vi.advanceTimersByTimeAsync(0);
      expect(batches).toEqual([
        { items: [1, 2], at: 0 },
        { items: [3], at: 50 },
      ]);
      await expect(q).resolves.toBe(6);
    });

    it('a commit that outlasts the interval is followed by the next batch at once', async () => {
      const { gc, batches } = paced(10, 25);
      const out = [gc.submit(1)];
      await vi.advanceTimersByTimeAsync(5);
      out.push(gc.submit(2), gc.submit(3));
      await vi.advanceTimersByTimeAsync(20); // t = 25: the first commit ends
      expect(batches).toEqual([
        { items: [1], at: 0 },
        { items: [2, 3], at: 25 },
      ]);
      await vi.advanceTimersByTimeAsync(25);
      await expect(Promise.all(out)).resolves.toEqual([2, 4, 6]);
    });
  });
});
