// /queues and the admission fields of templates and tasks over app.request() on a real SQLite file: counts, limit, pause, bad input named.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noSignals } from '../domain/deps.js';
import { openSqliteDeps } from '../testing/sqlite-deps.js';
import { createApp } from './app.js';

let app: ReturnType<typeof createApp>;
let close: () => Promise<void>;
const admitted: string[] = [];

beforeAll(async () => {
  const opened = await openSqliteDeps({ signals: { ...noSignals, admit: (q) => void admitted.push(q) } });
  close = opened.close;
  app = createApp({
    ...opened.deps,
    consumerLag: async () => [
      { queue: 'mail', partition: 0, lag: 3 },
      { queue: 'mail', partition: 1, lag: 4 },
    ],
  });
});
afterAll(() => close());

async function call(method: string, path: string, body?: unknown) {
  const res = await app.request(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

describe('/queues', () => {
  it('lists queues of templates with counts, settings and summed lag; a paused queue holds new tasks WAITING', async () => {
    const tpl = await call('POST', '/templates', {
      name: 'mailer',
      executor: 'echo',
      queue: 'mail',
      priority: 7,
    });
    expect(tpl.body).toMatchObject({
      priority: 7,
      paused: false,
      concurrency_key: null,
      concurrency_limit: null,
    });
    const paused = await call('POST', '/queues/mail/pause');
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ name: 'mail', paused: true, max_in_flight: null });
    const task = await call('POST', '/tasks', { task_template_id: tpl.body.id });
    expect(task.body).toMatchObject({ status: 'WAITING', priority: 7, concurrency_key: null });
    const list = await call('GET', '/queues');
    expect(list.body.items).toContainEqual({
      name: 'mail',
      waiting: 1,
      queued: 0,
      running: 0,
      max_in_flight: null,
      paused: true,
      lag: 7,
    });
    const resumed = await call('POST', '/queues/mail/resume');
    expect(resumed.body.paused).toBe(false);
    expect(admitted).toContain('mail');
  });

  it('PUT sets and clears max_in_flight', async () => {
    expect((await call('PUT', '/queues/bulk', { max_in_flight: 3 })).body).toMatchObject({
      max_in_flight: 3,
    });
    expect((await call('PUT', '/queues/bulk', { max_in_flight: null })).body).toMatchObject({
      max_in_flight: null,
    });
  });

  it.each([
    [{ max_in_flight: 0 }, '/max_in_flight'],
    [{ max_in_flight: 'ten' }, '/max_in_flight'],
    [{ limit: 3 }, ''],
  ])('PUT refuses %j, naming the field', async (body, path) => {
    const res = await call('PUT', '/queues/bulk', body);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.error)).toContain(path || 'limit');
  });

  it('refuses a queue name that is not one, naming it', async () => {
    const res = await call('POST', '/queues/Bad%20Name/pause');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('"Bad Name"');
  });

  it('refuses a priority outside 0–9 and a concurrency_limit below 1', async () => {
    const t = await call('POST', '/templates', { name: 'p', executor: 'echo', priority: 10 });
    expect(t.status).toBe(400);
    expect(JSON.stringify(t.body.error)).toContain('/priority');
    const l = await call('POST', '/templates', { name: 'l', executor: 'echo', concurrency_limit: 0 });
    expect(l.status).toBe(400);
    expect(JSON.stringify(l.body.error)).toContain('/concurrency_limit');
  });
});
