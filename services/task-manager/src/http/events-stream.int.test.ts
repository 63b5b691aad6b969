// The live event streams over a real listener on both dialects: replay then live with no gap and no
// duplicate while writers run concurrently (MariaDB: commits out of id order), resuming with
// Last-Event-ID, two managers on one MariaDB database, and the per-task stream's end.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { ServerType } from '@hono/node-server';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../domain/clock.js';
import { noSignals } from '../domain/deps.js';
import { createEventHub } from '../events/hub.js';
import type { EventHub } from '../events/hub.js';
import { makeEvent, newId } from '../store/contract/fixtures.js';
import type { Store } from '../store/types.js';
import { seedTask, templateAt } from '../testing/seed.js';
import { createTestDatabase } from '../testing/stores.js';
import type { Dialect, TestDatabase } from '../testing/stores.js';
import { createApp } from './app.js';

const logger = pino({ level: 'silent' });
const teardown: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of teardown.splice(0).reverse()) await fn();
});

interface Manager {
  store: Store;
  hub: EventHub;
  url: string;
}

async function database(dialect: Dialect): Promise<TestDatabase> {
  const db = await createTestDatabase(dialect);
  teardown.push(() => db.cleanup());
  return db;
}

/** A manager's store, hub and HTTP listener over `db` (gap grace short: the test waits for it at most). */
async function manager(db: TestDatabase, opts: { bufferLimit?: number; heartbeatMs?: number } = {}) {
  const store = db.open();
  await store.migrate();
  const hub = createEventHub({ store, logger, pollMs: 20, gapGraceMs: 2_000, bufferLimit: opts.bufferLimit });
  await hub.start();
  const app = createApp({
    store,
    clock: systemClock,
    logger,
    settings: { dispatchTopic: 'dispatch', controlTopic: 'control' },
    signals: noSignals,
    events: { hub, heartbeatMs: opts.heartbeatMs },
  });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  teardown.push(async () => {
    await hub.stop();
    if ('closeAllConnections' in server) server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { store, hub, url } satisfies Manager;
}

interface Frame {
  id?: number;
  event?: string;
  data?: { id: number; task_id: string; type: string };
  comment?: string;
}

/** Reads SSE frames until `stop(frames)` or the stream ends; returns them and whether it ended. */
async function readStream(
  url: string,
  stop: (frames: Frame[]) => boolean,
  headers: Record<string, string> = {},
): Promise<{ frames: Frame[]; ended: boolean }> {
  const ac = new AbortController();
  const res = await fetch(url, { headers, signal: ac.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const frames: Frame[] = [];
  let text = '';
  try {
    for (;;) {
      if (stop(frames)) return { frames, ended: false };
      const { value, done } = await reader.read();
      if (done) return { frames, ended: true };
      text += value;
      let end: number;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const raw = text.slice(0, end);
        text = text.slice(end + 2);
        const f: Frame = {};
        for (const line of raw.split('\n')) {
          if (line.startsWith(':')) f.comment = line.slice(1).trim();
          else if (line.startsWith('id: ')) f.id = Number(line.slice(4));
          else if (line.startsWith('event: ')) f.event = line.slice(7);
          else if (line.startsWith('data: ')) f.data = JSON.parse(line.slice(6)) as Frame['data'];
        }
        frames.push(f);
      }
    }
  } finally {
    ac.abort();
  }
}

const eventsOf = (frames: Frame[]) => frames.filter((f) => f.id !== undefined);

describe.each(['sqlite', 'mysql'] as const)('event streams on %s', (dialect) => {
  it('replay then live, resumed with Last-Event-ID mid-way, loses and repeats nothing under concurrent writes', async () => {
    const db = await database(dialect);
    // Keep-alives wake the reader after the last event, to check whether everything arrived.
    const m = await manager(db, { heartbeatMs: 50 });
    const writer = db.open();
    const taskIds = Array.from({ length: 4 }, () => newId());
    // Before any subscriber: the replay part.
    await writer.insertEvents(taskIds.map((id) => makeEvent(id, { type: 'created' })));
    let writing = true;
    const writers = Promise.all(
      taskIds.map(async (taskId) => {
        for (let i = 0; i < 60; i++) {
          await writer.insertEvents(
            Array.from({ length: 1 + (i % 3) }, () => makeEvent(taskId, { type: 'log', data: { i } })),
          );
        }
      }),
    ).then(async () => {
      expectedLast = await writer.maxEventId();
      writing = false;
    });
    let expectedLast = -1;

    const seen: number[] = [];
    // First connection: from the start, dropped after some events.
    const first = await readStream(
      `${m.url}/events/stream?last_event_id=0`,
      (fs) => eventsOf(fs).length >= 100,
    );
    seen.push(...eventsOf(first.frames).map((f) => f.id!));
    // Resume with the header until the writers are done and everything written arrived.
    const second = await readStream(
      `${m.url}/events/stream`,
      (fs) => {
        if (writing) return false;
        const all = eventsOf(fs);
        return all.length > 0 && all.at(-1)!.id === expectedLast;
      },
      { 'last-event-id': String(seen.at(-1)) },
    );
    seen.push(...eventsOf(second.frames).map((f) => f.id!));
    await writers;
    const stored = (await writer.listEventsAfter(0, 100_000)).map((e) => e.id);
    expect(stored).toHaveLength(4 + 4 * 120);
    expect(seen).toEqual(stored);
    // every frame's id, event and data agree
    for (const f of eventsOf([...first.frames, ...second.frames])) {
      expect(f.data!.id).toBe(f.id);
      expect(f.data!.type).toBe(f.event);
    }
  });

  it('filters by task and type, and sends keep-alive comments', async () => {
    const db = await database(dialect);
    const m = await manager(db, { heartbeatMs: 20 });
    const [a, b] = [newId(), newId()];
    let subscribed!: () => void;
    const open = new Promise<void>((resolve) => (subscribed = resolve));
    const stream = readStream(`${m.url}/events/stream?task_id=${a}&type=log,succeeded`, (fs) => {
      if (fs.length > 0) subscribed();
      return eventsOf(fs).length >= 2 && fs.some((f) => f.comment === 'keep-alive');
    });
    await open;
    await m.store.insertEvents([
      makeEvent(b, { type: 'log' }),
      makeEvent(a, { type: 'created' }),
      makeEvent(a, { type: 'log' }),
      makeEvent(a, { type: 'succeeded' }),
    ]);
    const { frames } = await stream;
    expect(eventsOf(frames).map((f) => [f.data!.task_id, f.event])).toEqual([
      [a, 'log'],
      [a, 'succeeded'],
    ]);
  });

  it('a bad filter or Last-Event-ID is a 400', async () => {
    const db = await database(dialect);
    const m = await manager(db);
    expect((await fetch(`${m.url}/events/stream?type=nope`)).status).toBe(400);
    expect((await fetch(`${m.url}/events/stream`, { headers: { 'last-event-id': 'x' } })).status).toBe(400);
    expect((await fetch(`${m.url}/tasks/${newId()}/events/stream`)).status).toBe(404);
  });
});

describe('event streams across managers on one MariaDB database', () => {
  it("an event caused through manager A reaches B's per-task stream, which ends after the terminal event", async () => {
    const db = await database('mysql');
    const a = await manager(db);
    const b = await manager(db);
    const task = await seedTask(a.store, templateAt(new Date()), new Date(), { status: 'QUEUED' });
    let subscribed!: () => void;
    const open = new Promise<void>((resolve) => (subscribed = resolve));
    const stream = readStream(`${b.url}/tasks/${task.id}/events/stream`, (fs) => {
      if (fs.length > 0) subscribed();
      return false;
    });
    // Its first comment arrived: B has subscribed. Now cancel through A.
    await open;
    const res = await fetch(`${a.url}/tasks/${task.id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(200);
    const { frames, ended } = await stream;
    expect(ended).toBe(true);
    expect(eventsOf(frames).map((f) => f.event)).toContain('canceled');
    expect(eventsOf(frames).at(-1)!.event).toBe('canceled');
  });
});

describe('event streams over MariaDB commits out of id order', () => {
  it('an event whose id is allocated first but committed last is still delivered, and first', async () => {
    const db = await database('mysql');
    const m = await manager(db);
    const other = db.open();
    const taskId = newId();
    let subscribed!: () => void;
    const open = new Promise<void>((resolve) => (subscribed = resolve));
    const stream = readStream(`${m.url}/events/stream`, (fs) => {
      if (fs.length > 0) subscribed();
      return eventsOf(fs).length >= 2;
    });
    await open;
    // Transaction 1 takes the lower id and holds it uncommitted while id+1 commits.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const lowerTaken = new Promise<void>((resolve) => (inserted = resolve));
    const slow = other.unitOfWork(async (tx) => {
      await tx.insertEvents([makeEvent(taskId, { type: 'created' })]);
      inserted();
      await held;
    });
    await lowerTaken;
    await m.store.insertEvents([makeEvent(taskId, { type: 'log' })]);
    // Only the later id is visible; the poller reads it and must hold it back.
    const visible = await m.store.listEventsAfter(0, 10);
    expect(visible.map((e) => [e.type, e.id])).toEqual([['log', 2]]);
    await waitUntil(() => m.hub.waiting() === 1);
    expect(m.hub.horizon()).toBe(0);
    release();
    await slow;
    const { frames } = await stream;
    expect(eventsOf(frames).map((f) => f.event)).toEqual(['created', 'log']);
    expect(eventsOf(frames).map((f) => f.id)).toEqual([1, 2]);
  });
});

async function waitUntil(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}
