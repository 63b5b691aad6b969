// Hostile request bodies through app.request() on a real SQLite store: deep nesting, overflowing
// numbers, `__proto__` keys, duplicate keys, run_at out of bounds. Each gets a 4xx in the error
// envelope (or a documented acceptance), never a 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../domain/json-text.js';
import { openSqliteDeps } from '../testing/sqlite-deps.js';
import type { SqliteDeps } from '../testing/sqlite-deps.js';
import { createApp } from './app.js';

let fixture: SqliteDeps;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  fixture = await openSqliteDeps();
  app = createApp(fixture.deps);
  const res = await post('/templates', JSON.stringify({ name: 'hostile', executor: 'echo' }));
  expect(res.status).toBe(201);
});
afterAll(async () => {
  await fixture.close();
});

async function send(method: string, path: string, text: string) {
  const res = await app.request(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: text,
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response shapes vary per case
  const body = (await res.json()) as Record<string, any>;
  return { status: res.status, body, text: JSON.stringify(body) };
}
const post = (path: string, text: string) => send('POST', path, text);

/** `{"template_name":"hostile","params":{"v": <nested>}}`: the params value nests `levels` arrays. */
function taskWithNestedParams(levels: number): string {
  return `{"template_name":"hostile","params":{"v":${'['.repeat(levels)}${']'.repeat(levels)}}}`;
}

describe('deeply nested JSON', () => {
  it.each([10_000, 400_000])(
    'a body nested %i deep gets 400 invalid_json naming the limit',
    async (levels) => {
      const res = await post('/tasks', taskWithNestedParams(levels));
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({
        code: 'invalid_json',
        details: { max_depth: MAX_JSON_DEPTH },
      });
      expect(res.body.error.message).toContain(`deeper than ${MAX_JSON_DEPTH} levels`);
    },
  );

  it(`the body object counts as level 1: ${MAX_JSON_DEPTH} levels in all are accepted, one more is not`, async () => {
    // body (1) + params (2) + the arrays
    expect((await post('/tasks', taskWithNestedParams(MAX_JSON_DEPTH - 2))).status).toBe(201);
    expect((await post('/tasks', taskWithNestedParams(MAX_JSON_DEPTH - 1))).status).toBe(400);
  });

  it('brackets inside strings (escaped quotes included) do not count', async () => {
    const params = { text: `\\"${'['.repeat(500)}` };
    const res = await post('/tasks', JSON.stringify({ template_name: 'hostile', params }));
    expect(res.status).toBe(201);
    expect(res.body.params).toEqual(params);
  });

  it('params given as a JSON string are held to the same depth', async () => {
    const params = `{"v":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    const res = await post('/tasks', JSON.stringify({ template_name: 'hostile', params }));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'bad_request',
      details: [{ path: '/params', max_depth: 64 }],
    });
  });

  it('a deep result in PUT /tasks/{id} is refused the same way', async () => {
    const task = await post('/tasks', JSON.stringify({ template_name: 'hostile' }));
    const res = await send(
      'PUT',
      `/tasks/${task.body.id}`,
      `{"result":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
    );
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_json');
  });
});

describe('numbers, prototype keys and duplicate keys', () => {
  it.each(['1e400', '-1e400', `1${'0'.repeat(400)}`])(
    'a number that would become Infinity (%s…) gets 400 invalid_json instead of being stored as null',
    async (literal) => {
      const res = await post('/tasks', `{"template_name":"hostile","params":{"n":${literal}}}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_json');
      expect(res.body.error.message).toContain('out of range');
    },
  );

  it('large but finite numbers and long runs of digits in strings are accepted', async () => {
    const res = await post(
      '/tasks',
      `{"template_name":"hostile","params":{"n":1.5e308,"s":"${'9'.repeat(5000)}"}}`,
    );
    expect(res.status).toBe(201);
    expect(res.body.params.n).toBe(1.5e308);
  });

  it('a __proto__ key in params is plain data: kept, and nothing gets polluted', async () => {
    const res = await post('/tasks', '{"template_name":"hostile","params":{"__proto__":{"polluted":true}}}');
    expect(res.status).toBe(201);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const read = await app.request(`/tasks/${res.body.id}`);
    expect(await read.text()).toContain('"params":{"__proto__":{"polluted":true}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a __proto__ key at the top of a body is an unknown field (400), not a prototype', async () => {
    const res = await post('/tasks', '{"template_name":"hostile","__proto__":{"template_name":"x"}}');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'bad_request', details: [{ path: '/__proto__' }] });
  });

  it('a duplicate key keeps its last value, as JSON.parse does', async () => {
    const res = await post(
      '/tasks',
      '{"template_name":"nope","template_name":"hostile","name":"a","name":"b"}',
    );
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('b');
  });
});

describe('run_at bounds', () => {
  const task = (run_at: string) => JSON.stringify({ template_name: 'hostile', run_at });
  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

  it.each([
    ['before the year 2000', '1999-12-31T23:59:59Z', 'must not be before 2000-01-01T00:00:00.000Z'],
    ['more than a year ahead', inDays(370), 'at most one year ahead'],
    ['far in the future', '9999-12-31T23:59:59Z', 'at most one year ahead'],
    ['a leap second JavaScript cannot represent', '2026-12-31T23:59:60Z', 'not a representable date-time'],
  ])('run_at %s gets 400 naming the field and the bound', async (_what, runAt, message) => {
    const res = await post('/tasks', task(runAt));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
    expect(res.body.error.message).toContain(message);
    expect(res.body.error.details[0]).toMatchObject({ path: '/run_at', minimum: '2000-01-01T00:00:00.000Z' });
  });

  it('run_at in the past (after 2000) queues at once; within a year ahead it waits', async () => {
    expect((await post('/tasks', task('2001-01-01T00:00:00Z'))).body.status).toBe('QUEUED');
    expect((await post('/tasks', task(inDays(360)))).body.status).toBe('PENDING');
  });

  it('in a batch, an item with run_at out of bounds fails alone', async () => {
    const res = await post(
      '/tasks/batch',
      JSON.stringify({
        tasks: [{ template_name: 'hostile' }, { template_name: 'hostile', run_at: '1970-01-01T00:00:00Z' }],
      }),
    );
    expect(res.status).toBe(207);
    expect(res.body.results.map((r: { status: number }) => r.status)).toEqual([201, 400]);
  });
});
