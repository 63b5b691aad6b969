// A database that cannot serve (locked, unreachable, saturated) answers 503 `unavailable` with
// Retry-After through app.request(), and the API serves again as soon as the database is back.
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestMysqlDatabase, createTestSqliteFile } from '@taskwire/testkit';
import type { TestMysqlDatabase, TestSqliteFile } from '@taskwire/testkit';
import { systemClock } from '../domain/clock.js';
import { noSignals } from '../domain/deps.js';
import { createMysqlStore } from '../store/mysql/index.js';
import { createSqliteStore } from '../store/sqlite/index.js';
import type { Store } from '../store/types.js';
import { createApp } from './app.js';

function appOver(store: Store) {
  return createApp({
    store,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    settings: { dispatchTopic: 'dispatch', controlTopic: 'control' },
    signals: noSignals,
  });
}

type App = ReturnType<typeof appOver>;

async function call(app: App, method: string, path: string, body?: unknown) {
  const res = await app.request(path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: text ? JSON.parse(text) : null,
  };
}

function expectUnavailable(res: Awaited<ReturnType<typeof call>>, reason: string, retryAfter: string): void {
  expect(res.status).toBe(503);
  expect(res.retryAfter).toBe(retryAfter);
  expect(res.body).toMatchObject({
    error: { code: 'unavailable', details: { reason, retry_after_s: Number(retryAfter) } },
  });
  expect(res.body.error.message).toMatch(/retry in \d+ s$/);
}

/** Starts a unit of work that holds the store (its connection or lock) until `release()`. */
async function holdStore(store: Store): Promise<{ release(): Promise<void> }> {
  let release!: () => void;
  let holding!: () => void;
  const held = new Promise<void>((r) => (holding = r));
  const hold = store.unitOfWork(async () => {
    holding();
    await new Promise<void>((r) => (release = r));
  });
  await held;
  return {
    release: async () => {
      release();
      await hold;
    },
  };
}

describe('SQLite locked by another connection', () => {
  let file: TestSqliteFile;
  let store: Store;
  let app: App;
  beforeAll(async () => {
    file = createTestSqliteFile();
    // A short busy timeout: the lock below is held for the whole test, so every write times out.
    store = createSqliteStore({ file: file.file, busyTimeoutMs: 50 });
    await store.migrate();
    app = appOver(store);
  });
  afterAll(async () => {
    await store.close();
    file.cleanup();
  });

  it('writes get 503 busy with Retry-After while an exclusive transaction holds the file, and work once it ends', async () => {
    const tpl = await call(app, 'POST', '/templates', { name: 'locked', executor: 'echo' });
    expect(tpl.status).toBe(201);
    const other = new Database(file.file);
    try {
      other.exec('BEGIN EXCLUSIVE');
      expectUnavailable(await call(app, 'POST', '/tasks', { template_name: 'locked' }), 'busy', '1');
      expectUnavailable(
        await call(app, 'POST', '/templates', { name: 'locked-2', executor: 'echo' }),
        'busy',
        '1',
      );
      // Reads still work in WAL mode, and so does readiness.
      expect((await call(app, 'GET', `/templates/${tpl.body.id}`)).status).toBe(200);
      expect((await call(app, 'GET', '/readyz')).status).toBe(200);
      other.exec('COMMIT');
    } finally {
      other.close();
    }
    expect((await call(app, 'POST', '/tasks', { template_name: 'locked' })).status).toBe(201);
  });

  it('POST /tasks beyond the group-commit queue gets 503 queue_full with Retry-After; the queued ones are created', async () => {
    // The first batch's template lookup tells when it has left the queue (and waits for the store).
    let batchStarted!: () => void;
    const started = new Promise<void>((r) => (batchStarted = r));
    const watched = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'getTemplateByName') {
          return (name: string) => {
            batchStarted();
            return target.getTemplateByName(name);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const small = createApp({
      store: watched,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      settings: { dispatchTopic: 'dispatch', controlTopic: 'control' },
      signals: noSignals,
      groupCommit: { maxBatch: 1, maxInFlight: 1, maxQueued: 2 },
    });
    // Hold the store: the first batch waits for it, the next two wait in the queue, the rest are refused.
    const held = await holdStore(store);
    const first = call(small, 'POST', '/tasks', { template_name: 'locked' });
    await started;
    const queued = [1, 2].map(() => call(small, 'POST', '/tasks', { template_name: 'locked' }));
    const refused = await call(small, 'POST', '/tasks', { template_name: 'locked' });
    expectUnavailable(refused, 'queue_full', '1');
    await held.release();
    expect((await Promise.all([first, ...queued])).map((r) => r.status)).toEqual([201, 201, 201]);
  });

  it('a closed store answers 503 closed, never 500', async () => {
    const f = createTestSqliteFile();
    const s = createSqliteStore({ file: f.file });
    await s.migrate();
    const a = appOver(s);
    await s.close();
    try {
      expectUnavailable(await call(a, 'GET', '/templates'), 'closed', '5');
      expectUnavailable(await call(a, 'GET', '/readyz'), 'unreachable', '5');
    } finally {
      f.cleanup();
    }
  });
});

/** A TCP proxy in front of MariaDB that can be cut (every socket destroyed, port closed) and restored. */
async function startProxy(): Promise<{
  port: number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(3306, '127.0.0.1');
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.on('close', () => sockets.delete(sock));
          sock.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const down = async () => {
    const s = server;
    server = null;
    for (const sock of sockets) sock.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return { port, down, up: listen, close: down };
}

describe('MySQL server unreachable, then back', () => {
  let db: TestMysqlDatabase;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let store: Store;
  let app: App;
  beforeAll(async () => {
    db = await createTestMysqlDatabase();
    proxy = await startProxy();
    store = createMysqlStore({ dsn: db.dsn.replace(':3306/', `:${proxy.port}/`), poolSize: 2 });
    await store.migrate();
    app = appOver(store);
  });
  afterAll(async () => {
    await store.close();
    await proxy.close();
    await db.drop();
  });

  it('reads, writes and readiness get 503 unreachable with Retry-After while it is down, and succeed once it is back', async () => {
    expect((await call(app, 'POST', '/templates', { name: 'mysql-down', executor: 'echo' })).status).toBe(
      201,
    );
    await proxy.down();
    expectUnavailable(await call(app, 'POST', '/tasks', { template_name: 'mysql-down' }), 'unreachable', '5');
    expectUnavailable(await call(app, 'GET', '/tasks'), 'unreachable', '5');
    expectUnavailable(await call(app, 'GET', '/templates'), 'unreachable', '5');
    const ready = await call(app, 'GET', '/readyz');
    expectUnavailable(ready, 'unreachable', '5');
    await proxy.up();
    expect((await call(app, 'POST', '/tasks', { template_name: 'mysql-down' })).status).toBe(201);
    expect((await call(app, 'GET', '/readyz')).status).toBe(200);
  });
});

describe('MySQL pool saturated', () => {
  let db: TestMysqlDatabase;
  let store: Store;
  beforeAll(async () => {
    db = await createTestMysqlDatabase();
    store = createMysqlStore({ dsn: db.dsn, poolSize: 1, queueLimit: 1 });
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it('with the only connection busy and the wait queue full, the next request gets 503 saturated at once', async () => {
    const app = appOver(store);
    const held = await holdStore(store);
    // One of these waits for the connection (the queue is then full); the other is refused at once.
    const both = [call(app, 'GET', '/templates'), call(app, 'GET', '/templates')];
    expectUnavailable(await Promise.race(both), 'saturated', '1');
    await held.release();
    expect((await Promise.all(both)).map((r) => r.status).sort()).toEqual([200, 503]);
    expect((await call(app, 'GET', '/templates')).status).toBe(200);
  });
});
