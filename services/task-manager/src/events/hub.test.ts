// Unit tests of the live fan-out: filters, in-order delivery across ids committed out of order, the
// gap grace, the bounded subscriber buffer. The store here is a table whose rows become visible in
// any order we choose: neither real dialect can be made to show a later id before an earlier one
// on demand (the MariaDB case is exercised for real in events-stream.int.test.ts).
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { EventFilter, StreamEventRecord } from '../store/types.js';
import { createEventHub, matches } from './hub.js';
import type { Subscription } from './hub.js';

const logger = pino({ level: 'silent' });

function ev(id: number, over: Partial<StreamEventRecord> = {}): StreamEventRecord {
  return {
    id,
    taskId: `t${id}`,
    attempt: 1,
    type: 'created',
    at: new Date(0),
    workerId: null,
    data: null,
    templateId: 'tpl',
    queue: 'default',
    ...over,
  };
}

/** A task_events table where `commit(e)` makes a row visible, in whatever order the test picks. */
function table(initial: StreamEventRecord[] = []) {
  const rows = new Map(initial.map((e) => [e.id, e]));
  return {
    commit: (...es: StreamEventRecord[]) => es.forEach((e) => rows.set(e.id, e)),
    store: {
      maxEventId: () => Promise.resolve(Math.max(0, ...rows.keys())),
      listEventsAfter: (after: number, limit: number, f: EventFilter = {}) =>
        Promise.resolve(
          [...rows.values()]
            .filter((e) => e.id > after && (f.ids === undefined || f.ids.includes(e.id)))
            .sort((a, b) => a.id - b.id)
            .slice(0, limit),
        ),
    },
  };
}

async function take(sub: Subscription, n: number): Promise<number[]> {
  const got: number[] = [];
  while (got.length < n) {
    const batch = await sub.next();
    if (batch.length === 0) break;
    got.push(...batch.map((e) => e.id));
  }
  return got;
}

describe('event hub', () => {
  it('a filter matches any of each list, and every value when a list is absent or empty', () => {
    const e = ev(1, { type: 'log', queue: 'q1', templateId: 'A' });
    expect(matches({}, e)).toBe(true);
    expect(matches({ types: [], queues: ['q2', 'q1'] }, e)).toBe(true);
    expect(matches({ types: ['created'] }, e)).toBe(false);
    expect(matches({ templateIds: ['B'] }, e)).toBe(false);
    expect(matches({ queues: ['q1'] }, { ...e, queue: null })).toBe(false);
    expect(matches({ taskIds: ['t1'], templateIds: ['A'] }, e)).toBe(true);
  });

  it('starts at the current end and delivers later events to matching subscribers only', async () => {
    const t = table([ev(1), ev(2)]);
    const hub = createEventHub({ store: t.store, logger, pollMs: 5 });
    const all = await hub.subscribe({});
    const logs = await hub.subscribe({ types: ['log'] });
    expect(all.horizon).toBe(2);
    t.commit(ev(3), ev(4, { type: 'log' }), ev(5));
    expect(await take(all, 3)).toEqual([3, 4, 5]);
    expect(await take(logs, 1)).toEqual([4]);
    await hub.stop();
    expect(await all.next()).toEqual([]);
    expect(all.closedBy).toBe('closed');
  });

  it('an id committed after a later one holds the later one back, so ids only increase', async () => {
    let now = 0;
    const t = table();
    const hub = createEventHub({ store: t.store, logger, pollMs: 5, gapGraceMs: 1_000, now: () => now });
    const sub = await hub.subscribe({});
    t.commit(ev(2), ev(3));
    await vi.waitFor(() => expect(hub.horizon()).toBe(0));
    // Let a few polls pass with 1 still missing: nothing may be delivered yet.
    await new Promise((r) => setTimeout(r, 30));
    expect(hub.horizon()).toBe(0);
    t.commit(ev(1));
    expect(await take(sub, 3)).toEqual([1, 2, 3]);
    now = 10; // still within the grace
    t.commit(ev(5));
    await new Promise((r) => setTimeout(r, 30));
    expect(hub.horizon()).toBe(3);
    await hub.stop();
  });

  it('an id missing for longer than the grace is given up (a rolled-back insert)', async () => {
    let now = 0;
    const t = table();
    const hub = createEventHub({ store: t.store, logger, pollMs: 5, gapGraceMs: 1_000, now: () => now });
    const sub = await hub.subscribe({});
    t.commit(ev(1), ev(3));
    expect(await take(sub, 1)).toEqual([1]);
    await new Promise((r) => setTimeout(r, 30));
    expect(hub.horizon()).toBe(1);
    now = 1_000;
    expect(await take(sub, 1)).toEqual([3]);
    expect(hub.horizon()).toBe(3);
    await hub.stop();
  });

  it('a subscriber that does not read is closed at its buffer limit, and others keep receiving', async () => {
    const t = table();
    const hub = createEventHub({ store: t.store, logger, pollMs: 5, bufferLimit: 3 });
    const slow = await hub.subscribe({});
    const fast = await hub.subscribe({});
    t.commit(ev(1), ev(2), ev(3));
    expect(await take(fast, 3)).toEqual([1, 2, 3]);
    expect(slow.closedBy).toBe(undefined);
    t.commit(ev(4), ev(5));
    expect(await take(fast, 2)).toEqual([4, 5]);
    expect(slow.closedBy).toBe('overflow');
    expect(await slow.next()).toEqual([]);
    await hub.stop();
  });

  it('with nobody subscribed it reads no events, and its horizon trails the table end by the grace', async () => {
    let now = 0;
    const t = table([ev(1)]);
    let reads = 0;
    const store = {
      ...t.store,
      listEventsAfter: (...args: Parameters<typeof t.store.listEventsAfter>) => {
        reads++;
        return t.store.listEventsAfter(...args);
      },
    };
    const hub = createEventHub({ store, logger, pollMs: 5, gapGraceMs: 1_000, now: () => now });
    await hub.start();
    expect(hub.horizon()).toBe(1);
    t.commit(ev(2), ev(3));
    hub.wake();
    hub.wake();
    await new Promise((r) => setTimeout(r, 30));
    expect(hub.horizon()).toBe(1); // 2 and 3 were seen less than a grace ago
    now = 1_000;
    await vi.waitFor(() => expect(hub.horizon()).toBe(3));
    expect(reads).toBe(0);
    const sub = await hub.subscribe({});
    expect(sub.horizon).toBe(3);
    t.commit(ev(4));
    expect(await take(sub, 1)).toEqual([4]);
    expect(reads).toBeGreaterThan(0);
    await hub.stop();
  });

  it('an id missing while idle is not skipped within the grace: a later subscriber receives it in order', async () => {
    let now = 0;
    const t = table();
    const hub = createEventHub({ store: t.store, logger, pollMs: 5, gapGraceMs: 1_000, now: () => now });
    await hub.start();
    t.commit(ev(1), ev(3)); // 2 is still being committed
    await new Promise((r) => setTimeout(r, 30));
    now = 999;
    await new Promise((r) => setTimeout(r, 30));
    const sub = await hub.subscribe({});
    expect(sub.horizon).toBe(0);
    t.commit(ev(2));
    expect(await take(sub, 3)).toEqual([1, 2, 3]);
    await hub.stop();
  });
});
