// The dashboard's reads with 100,000 tasks: every endpoint a dashboard page calls, timed over HTTP
// against the BUILT manager (KAFKA_ENABLED=0), on SQLite and on MariaDB. The tasks are seeded
// straight into the store (7 days of history, 4 queues, 20 templates, mostly finished; 20 workers;
// events for 1,000 tasks), then each case runs BENCH_REQUESTS times one after another (p50/p99 ms).
// Usage: node bench/dashboard.mjs (after a build); env BENCH_TASKS (100000), BENCH_REQUESTS (200),
// BENCH_DBS ("sqlite,mysql"), BENCH_OUT. Writes bench/results/dashboard.json.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestMysqlDatabase } from '@taskwire/testkit';
import { freePort, waitUntil } from './helpers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'services/task-manager/dist');
const { createStore } = await import(path.join(dist, 'store/index.js'));
const { firstIdAt } = await import(path.join(dist, 'domain/ids.js'));

// Ids as the manager makes them (a ULID of the creation time), but not from one monotonic factory:
// the second database's seed goes back in time, which the factory would turn into ids of "now".
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let seq = 0;
function newId(ms) {
  let n = ++seq;
  let tail = '';
  for (let i = 0; i < 16; i++, n = Math.floor(n / 32)) tail = CROCKFORD[n % 32] + tail;
  return firstIdAt(ms).slice(0, 10) + tail;
}

const TASKS = Number(process.env.BENCH_TASKS ?? 100_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const DBS = (process.env.BENCH_DBS ?? 'sqlite,mysql').split(',');
const OUT = process.env.BENCH_OUT ?? path.join(root, 'bench/results/dashboard.json');
const QUEUES = ['default', 'images', 'emails', 'reports'];
const DAY = 86_400_000;

/** Finished mostly; a few of every other status, like a system that has run for a week. */
function statusOf(i) {
  const r = i % 100;
  if (r < 88) return 'COMPLETED';
  if (r < 93) return 'FAILED';
  if (r < 95) return 'CANCELED';
  if (r < 96) return 'TIMED_OUT';
  if (r < 97) return 'QUEUED';
  if (r < 98) return 'RUNNING';
  if (r < 99) return 'PENDING';
  return 'RETRYING';
}

async function seed(store, now) {
  const templateIds = Array.from({ length: 20 }, (_, i) => ({ id: newId(now - 8 * DAY + i), n: i }));
  const t0 = performance.now();
  const start = now - 7 * DAY;
  const step = (7 * DAY) / TASKS;
  const events = [];
  let batch = [];
  for (let i = 0; i < TASKS; i++) {
    const created = new Date(Math.floor(start + i * step));
    const status = statusOf(i);
    const finished = ['COMPLETED', 'FAILED', 'CANCELED', 'TIMED_OUT'].includes(status);
    const template = templateIds[i % templateIds.length];
    const id = newId(created.getTime());
    batch.push({
      id,
      templateId: template.id,
      name: `task-${template.n}`,
      description: null,
      queue: QUEUES[i % QUEUES.length],
      params: { n: i, to: `user${i}@example.com` },
      status,
      result: status === 'COMPLETED' ? { ok: true, n: i } : null,
      error: status === 'FAILED' ? { type: 'Error', message: 'connection refused', retryable: false } : null,
      attempt: 1,
      maxAttempts: 3,
      backoff: null,
      runAt: null,
      nextAttemptAt: null,
      timeoutMs: 300_000,
      idempotencyKey: null,
      trigger: 'api',
      scheduledFor: null,
      workerId: status === 'PENDING' || status === 'QUEUED' ? null : `worker-${i % 20}`,
      createdAt: created,
      queuedAt: created,
      startedAt: status === 'PENDING' || status === 'QUEUED' ? null : new Date(created.getTime() + 50),
      finishedAt: finished ? new Date(created.getTime() + 50 + (i % 3000)) : null,
      updatedAt: created,
      dispatchPartition: null,
      dispatchOffset: null,
    });
    if (i % 100 === 0) {
      for (const [k, type] of ['created', 'queued', 'started', 'progress', 'log', 'succeeded'].entries()) {
        events.push({
          taskId: id,
          attempt: 1,
          type,
          at: new Date(created.getTime() + k * 10),
          workerId: k >= 2 ? `worker-${i % 20}` : null,
          data: type === 'progress' ? { pct: 50 } : type === 'log' ? { line: 'half way' } : null,
        });
      }
    }
    if (batch.length === 1000) {
      await store.insertTasks(batch);
      batch = [];
    }
  }
  if (batch.length) await store.insertTasks(batch);
  for (let i = 0; i < events.length; i += 1000) await store.insertEvents(events.slice(i, i + 1000));
  await store.upsertWorkers(
    Array.from({ length: 20 }, (_, i) => ({
      id: `worker-${i}`,
      host: `host-${i % 4}`,
      pid: 1000 + i,
      queues: QUEUES,
      executors: ['echo', 'sleep', 'http'],
      concurrency: 16,
      running: i % 5,
      version: '0.1.0',
      startedAt: new Date(now - DAY),
      lastSeen: new Date(now - (i < 15 ? 1000 : 600_000)),
      stoppedAt: null,
    })),
  );
  return { seedMs: Math.round(performance.now() - t0), templateIds: templateIds.map((t) => t.id) };
}

async function startManager(env) {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(dist, 'main.js')], {
    env: {
      PATH: process.env.PATH,
      SERVER_ADDR: `127.0.0.1:${port}`,
      KAFKA_ENABLED: '0',
      SCHEDULER_ENABLED: '0',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil('the manager', async () => (await fetch(`${url}/readyz`).catch(() => null))?.ok, 60_000);
  return { url, stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) };
}

async function timeCase(url, paths) {
  const times = [];
  for (let i = 0; i < REQUESTS + 10; i++) {
    const t0 = performance.now();
    for (const p of paths) {
      const res = await fetch(`${url}${p}`);
      if (!res.ok) throw new Error(`GET ${p}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
    if (i >= 10) times.push(performance.now() - t0); // the first 10 warm caches and the JIT
  }
  times.sort((a, b) => a - b);
  const q = (p) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))] * 100) / 100;
  return { p50_ms: q(0.5), p99_ms: q(0.99) };
}

async function runDb(dbType) {
  const tmp = mkdtempSync(path.join(tmpdir(), 'bench-dashboard-'));
  const mysql = dbType === 'mysql' ? await createTestMysqlDatabase() : null;
  const dsn = mysql ? mysql.dsn : path.join(tmp, 'taskwire.db');
  const now = Date.now();
  const store = createStore({ dbType, dsn });
  await store.migrate();
  const { seedMs, templateIds } = await seed(store, now);
  await store.close(); // SQLite: PRAGMA optimize records the planner's statistics, as a running manager does
  const manager = await startManager({ DB_TYPE: dbType, DB_DSN: dsn });
  try {
    const first = await (await fetch(`${manager.url}/tasks?limit=50`)).json();
    // A cursor ~90% of the way down: the last id of a page far from the top.
    const deepTask = await (
      await fetch(`${manager.url}/tasks?limit=1&created_to=${new Date(now - 6.3 * DAY).toISOString()}`)
    ).json();
    const deepCursor = Buffer.from(deepTask.items[0].id, 'utf8').toString('base64url');
    const detailId = first.items.find(() => true).id;
    const withEvents = (
      await (
        await fetch(
          `${manager.url}/tasks?limit=1&created_to=${new Date(now - 3 * DAY).toISOString()}&status=COMPLETED`,
        )
      ).json()
    ).items[0].id;
    const hourAgo = new Date(now - 3_600_000).toISOString();
    const dayFrom = new Date(now - 5 * DAY).toISOString();
    const dayTo = new Date(now - 4 * DAY).toISOString();
    const cases = {
      overview: ['/stats/overview'],
      'tasks first page': ['/tasks?limit=50'],
      'tasks status=FAILED': ['/tasks?limit=50&status=FAILED'],
      'tasks status=QUEUED,RUNNING,RETRYING': ['/tasks?limit=50&status=QUEUED,RUNNING,RETRYING'],
      'tasks status=COMPLETED,FAILED': ['/tasks?limit=50&status=COMPLETED,FAILED'],
      'tasks template_id': [`/tasks?limit=50&template_id=${templateIds[7]}`],
      'tasks queue': ['/tasks?limit=50&queue=images'],
      'tasks queue+status': ['/tasks?limit=50&queue=images&status=FAILED'],
      'tasks created last hour': [`/tasks?limit=50&created_from=${hourAgo}`],
      'tasks created one day (5 days ago)': [`/tasks?limit=50&created_from=${dayFrom}&created_to=${dayTo}`],
      'tasks deep cursor (~90% down)': [`/tasks?limit=50&cursor=${deepCursor}`],
      'task detail (task + events)': [`/tasks/${withEvents}`, `/tasks/${withEvents}/events`],
      'task detail (newest task)': [`/tasks/${detailId}`, `/tasks/${detailId}/events`],
      workers: ['/workers'],
      templates: ['/templates'],
    };
    const out = {};
    for (const [name, paths] of Object.entries(cases)) {
      out[name] = await timeCase(manager.url, paths);
      console.log(
        `${dbType.padEnd(6)} ${name.padEnd(40)} p50 ${String(out[name].p50_ms).padStart(7)} ms  p99 ${String(out[name].p99_ms).padStart(7)} ms`,
      );
    }
    return { seed_ms: seedMs, cases: out };
  } finally {
    await manager.stop();
    await mysql?.drop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

const results = {};
for (const db of DBS) {
  console.log(`seeding ${TASKS} tasks on ${db}…`);
  results[db] = await runDb(db);
}
mkdirSync(path.dirname(OUT), { recursive: true });
writeFileSync(
  OUT,
  `${JSON.stringify({ at: new Date().toISOString(), tasks: TASKS, requests_per_case: REQUESTS, loadavg: loadavg().map((l) => Math.round(l * 100) / 100), results }, null, 2)}\n`,
);
console.log(`wrote ${path.relative(root, OUT)}`);
