// What every request leaves behind, over app.request() on a real SQLite file: its access log line
// (level by status, none below LOG_LEVEL) and its duration in the metrics by route pattern,
// including the requests auth and the body limit refuse.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { LevelWithSilent } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainDeps } from '../domain/deps.js';
import { createManagerMetrics } from '../metrics/index.js';
import type { ManagerMetrics } from '../metrics/index.js';
import { openSqliteDeps } from '../testing/sqlite-deps.js';
import { createApp } from './app.js';

const TOKEN = 'write-0123456789abcdef';

const auth = { authorization: `Bearer ${TOKEN}` };

let deps: DomainDeps;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ deps, close } = await openSqliteDeps());
});
afterAll(async () => {
  await close();
});

/** Parsed pino lines written into an array. */
function lineSink() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { stream, requests: () => lines.filter((l) => l.msg === 'request') };
}

/** An app logging at `level` into a sink, with its own metrics registry, tokens and a 100-byte body limit. */
function observedApp(level: LevelWithSilent, store = deps.store) {
  const sink = lineSink();
  const metrics = createManagerMetrics({ logger: deps.logger });
  const app = createApp({
    ...deps,
    store,
    logger: pino({ level }, sink.stream),
    metricsRegistry: metrics,
    apiTokens: [{ scope: 'write', token: TOKEN }],
    bodyLimitBytes: 100,
  });
  return { app, metrics, requests: sink.requests };
}

/** The request count of one series of the HTTP duration histogram. */
async function timed(metrics: ManagerMetrics, method: string, route: string, status: number) {
  const text = await metrics.render();
  const line = text
    .split('\n')
    .find((l) =>
      l.startsWith(
        `taskwire_http_request_duration_seconds_count{method="${method}",route="${route}",status="${status}"}`,
      ),
    );
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('request observers', () => {
  it('logs one info line per request with its id, method, path, status and duration', async () => {
    const { app, requests } = observedApp('info');
    const res = await app.request('/tasks/no-such-task', { headers: { ...auth, 'x-request-id': 'obs-1' } });
    expect(res.status).toBe(404);
    expect(requests()).toEqual([
      expect.objectContaining({
        level: 30,
        requestId: 'obs-1',
        method: 'GET',
        path: '/tasks/no-such-task',
        status: 404,
        duration_ms: expect.any(Number) as number,
      }),
    ]);
  });

  it('writes no access line below LOG_LEVEL, but still logs a 500 as an error', async () => {
    const quiet = observedApp('warn');
    expect((await quiet.app.request('/healthz')).status).toBe(200);
    expect(quiet.requests()).toEqual([]);
    const failing = observedApp('warn', {
      ...deps.store,
      getTask: () => Promise.reject(new Error('disk on fire')),
    });
    const res = await failing.app.request('/tasks/any-id', { headers: auth });
    expect(res.status).toBe(500);
    expect(failing.requests()).toEqual([
      expect.objectContaining({ level: 50, method: 'GET', path: '/tasks/any-id', status: 500 }),
    ]);
  });

  it('times every request by route pattern, the ones auth and the body limit refuse included', async () => {
    const { app, metrics } = observedApp('silent');
    const post = (headers: Record<string, string>, body: string) =>
      app.request('/tasks', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    expect((await post({}, '{}')).status).toBe(401);
    expect((await post(auth, JSON.stringify({ template_name: 'x'.repeat(200) }))).status).toBe(413);
    expect((await post(auth, '{}')).status).toBe(400);
    expect((await post(auth, '{}')).status).toBe(400);
    expect((await app.request('/no-such-route', { headers: auth })).status).toBe(404);
    expect(await timed(metrics, 'POST', '/tasks', 401)).toBe(1);
    expect(await timed(metrics, 'POST', '/tasks', 413)).toBe(1);
    expect(await timed(metrics, 'POST', '/tasks', 400)).toBe(2);
    expect(await timed(metrics, 'GET', 'unmatched', 404)).toBe(1);
  });
});
