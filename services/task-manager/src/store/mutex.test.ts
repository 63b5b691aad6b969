// Unit tests of the SQLite store's mutex: FIFO hand-over and the bounded wait list.
import { describe, expect, it } from 'vitest';
import { Mutex } from './mutex.js';
import { StoreUnavailable } from './types.js';

describe('Mutex', () => {
  it('with the wait list full, the next caller is refused at once with StoreUnavailable(saturated); later ones get in again', async () => {
    const lock = new Mutex(2);
    let release!: () => void;
    const order: number[] = [];
    const holder = lock.run(() => new Promise<void>((r) => (release = r)));
    const waiting = [1, 2].map((n) => lock.run(() => void order.push(n)));
    const refused = await lock.run(() => order.push(3)).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(StoreUnavailable);
    expect(refused).toMatchObject({ reason: 'saturated', retryAfterS: 1 });
    expect((refused as Error).message).toContain('DB_QUEUE_LIMIT');
    release();
    await Promise.all([holder, ...waiting]);
    expect(order).toEqual([1, 2]);
    await lock.run(() => void order.push(4));
    expect(order).toEqual([1, 2, 4]);
  });
});
