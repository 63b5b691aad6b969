// /dlq over app.request() on a real SQLite file (no broker: dead letters stored directly): paging, query errors and the replay refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetterRecord } from '../store/types.js';
import { openSqliteDeps } from '../testing/sqlite-deps.js';
import type { SqliteDeps } from '../testing/sqlite-deps.js';
import { createApp } from './app.js';

let opened: SqliteDeps;
let app: ReturnType<typeof createApp>;
beforeAll(async () => {
  opened = await openSqliteDeps({
    settings: {
      dispatchTopic: 'dispatch',
      controlTopic: 'control',
      resultTopic: 'results',
      heartbeatTopic: 'heartbeats',
      maxMessageBytes: 2_000,
    },
  });
  app = createApp(opened.deps);
});
afterAll(() => opened.close());

async function call(method: string, path: string, body?: unknown) {
  const res = await app.request(path, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

let offset = 0;
async function store(overrides: Partial<DeadLetterRecord> = {}) {
  const row: DeadLetterRecord = {
    topic: 'results.dlq',
    partition: 0,
    offset: offset++,
    time: new Date(),
    indexedAt: new Date(),
    reason: 'bad',
    sourceTopic: 'results',
    sourcePartition: 0,
    sourceOffset: 1,
    key: 't1',
    headers: {},
    value: '{"v":1}',
    valueBytes: 7,
    truncated: false,
    ...overrides,
  };
  await opened.store.insertDeadLetters([row]);
  return { topic: row.topic, partition: row.partition, offset: row.offset };
}

const result = { v: 1, type: 'succeeded', task_id: 't1', attempt: 1, worker_id: 'w1', at: Date.now() };

describe('GET /dlq', () => {
  it('pages newest first with next_cursor, and shows text that is not JSON as raw', async () => {
    await store({ topic: 'paging.dlq', value: 'not json', valueBytes: 8 });
    await store({ topic: 'paging.dlq' });
    await store({ topic: 'paging.dlq' });
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await call('GET', `/dlq?topic=paging.dlq&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((i: { offset: number }) => i.offset));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    expect(seen).toHaveLength(3);
    const oldest = (await call('GET', '/dlq?topic=paging.dlq&limit=500')).body.items.at(-1);
    expect(oldest).toMatchObject({ message: null, raw: 'not json' });
  });

  it('a bad limit or cursor is 400 naming the parameter', async () => {
    const limit = await call('GET', '/dlq?limit=0');
    expect(limit.status).toBe(400);
    expect(limit.body.error.details[0].path).toBe('limit');
    const cursor = await call('GET', '/dlq?cursor=abc');
    expect(cursor.status).toBe(400);
    expect(cursor.body.error.details[0].path).toBe('cursor');
  });
});

describe('POST /dlq/replay refuses', () => {
  it('a body that is neither form, naming the field', async () => {
    const res = await call('POST', '/dlq/replay', { topic: 'results.dlq', partition: 0 });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('offset is required');
    const list = await call('POST', '/dlq/replay', { items: [] });
    expect(list.status).toBe(400);
    expect(list.body.error.details[0].path).toBe('/items');
  });

  it('a message larger than KAFKA_MAX_MESSAGE_BYTES (413), and nothing is queued', async () => {
    const coords = await store();
    const res = await call('POST', '/dlq/replay', {
      ...coords,
      message: { ...result, result: 'x'.repeat(3_000) },
    });
    expect(res.status).toBe(413);
    expect(res.body.error.message).toContain('KAFKA_MAX_MESSAGE_BYTES');
    expect(await opened.store.countUnsentOutbox()).toBe(0);
  });

  it('a dead letter stored cut, unless an edited message is given (409)', async () => {
    const coords = await store({ truncated: true, valueBytes: 2_000_000 });
    const res = await call('POST', '/dlq/replay', coords);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toContain('edited message');
    expect((await call('POST', '/dlq/replay', { ...coords, message: result })).status).toBe(200);
  });

  it('a dead letter its producer cut down to fit the DLQ, naming why and the source coordinates (409), even as indexed before truncated said so', async () => {
    // A prefix that happens to be valid JSON (of a result whose value ran on): replayed, it would be garbage.
    const coords = await store({
      sourceOffset: 41,
      headers: { 'x-dlq-truncated': 'true', 'x-dlq-original-bytes': '950000' },
      value: JSON.stringify(result),
      truncated: false,
    });
    const queued = await opened.store.countUnsentOutbox();
    const res = await call('POST', '/dlq/replay', coords);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toContain('cut-down copy');
    expect(res.body.error.message).toContain('950000 bytes');
    expect(res.body.error.message).toContain('results/0@41');
    expect(res.body.error.details).toEqual({
      truncated: true,
      original_bytes: 950_000,
      source_topic: 'results',
      source_partition: 0,
      source_offset: 41,
    });
    expect(await opened.store.countUnsentOutbox()).toBe(queued);
    // An edited message is not the cut copy: it is replayed.
    expect((await call('POST', '/dlq/replay', { ...coords, message: result })).status).toBe(200);
  });

  it('a dead letter from a topic that is not one of the manager’s (400), and a list with one unknown item replays none', async () => {
    const foreign = await store({ topic: 'elsewhere.dlq', sourceTopic: 'elsewhere' });
    const res = await call('POST', '/dlq/replay', foreign);
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].path).toBe('/topic');
    const before = await opened.store.countUnsentOutbox();
    const good = await store({ value: JSON.stringify(result) });
    const mixed = await call('POST', '/dlq/replay', {
      items: [good, { topic: 'results.dlq', partition: 0, offset: 9_999 }],
    });
    expect(mixed.status).toBe(404);
    expect(mixed.body.error.details[0].path).toBe('/items/1');
    expect(await opened.store.countUnsentOutbox()).toBe(before);
  });
});
