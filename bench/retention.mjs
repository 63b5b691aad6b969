// Retention purge bench: delete rate of finished tasks (with their events) and how long each unit of work holds the database, on SQLite and MariaDB (built dist).
// Usage: node bench/retention.mjs   (after `tsc -b services/task-manager`); writes bench/results/retention.json.
// Env: BENCH_RETENTION_TASKS (default 100000), BENCH_RETENTION_EVENTS (events per task, default 3),
// BENCH_RETENTION_BATCH (default 100, as RETENTION_BATCH), BENCH_DBS (default "sqlite,mysql").
// A unit of work is one transaction (select a batch of ids, delete the tasks, delete their events):
// on SQLite it holds the one write lock for its whole duration, so its p99/max is the longest wait
// a request or result batch can see behind the purge.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestMysqlDatabase } from '@taskwire/testkit';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'services', 'task-manager', 'dist');
const { createSqliteStore, createMysqlStore } = await import(join(dist, 'store', 'index.js'));
const { createTaskPurge } = await import(join(dist, 'scheduler', 'task-purge.js'));
const { newId } = await import(join(dist, 'domain', 'ids.js'));

const TASKS = Number(process.env.BENCH_RETENTION_TASKS ?? 100_000);
const EVENTS = Number(process.env.BENCH_RETENTION_EVENTS ?? 3);
const BATCH = Number(process.env.BENCH_RETENTION_BATCH ?? 100);
const DBS = (process.env.BENCH_DBS ?? 'sqlite,mysql').split(',');
const DAY = 86_400_000;

const silent = { child: () => silent, trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {} };

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const round = (v) => (v === null ? null : Math.round(v * 10) / 10);

async function seed(store, now) {
  const templateId = newId();
  await store.insertTemplate({
    id: templateId,
    name: 'bench-retention',
    description: null,
    executor: 'echo',
    queue: 'default',
    paramSchema: null,
    resultSchema: null,
    defaultParams: null,
    cronExpression: null,
    cronTimezone: null,
    enabled: true,
    maxAttempts: 1,
    backoff: { initialMs: 1000, factor: 2, maxMs: 60000, jitter: 0 },
    timeoutMs: 60000,
    missedFirePolicy: 'skip',
    overlapPolicy: 'allow',
    retentionDays: null,
    deletedAt: null,
    createdAt: now,
    updatedAt: now,
  });
  const statuses = ['COMPLETED', 'COMPLETED', 'COMPLETED', 'FAILED', 'CANCELED', 'TIMED_OUT'];
  for (let from = 0; from < TASKS; from += 1000) {
    const tasks = [];
    const events = [];
    for (let i = from; i < Math.min(TASKS, from + 1000); i++) {
      // 90% older than the 30 days kept, spread over 60 days; 10% recent.
      const age = i % 10 === 0 ? (i % 29) * DAY : (31 + (i % 60)) * DAY;
      const at = new Date(now.getTime() - age);
      const id = newId(at.getTime());
      tasks.push({
        id,
        templateId,
        name: 'bench-retention',
        description: null,
        queue: 'default',
        params: { n: i },
        status: statuses[i % statuses.length],
        result: { ok: true },
        error: null,
        attempt: 1,
        maxAttempts: 1,
        backoff: null,
        runAt: null,
        nextAttemptAt: null,
        timeoutMs: 60000,
        idempotencyKey: null,
        trigger: 'api',
        scheduledFor: null,
        workerId: 'w1',
        createdAt: at,
        queuedAt: at,
        startedAt: at,
        finishedAt: at,
        updatedAt: at,
        dispatchPartition: null,
        dispatchOffset: null,
      });
      for (let e = 0; e < EVENTS; e++)
        events.push({ taskId: id, attempt: 1, type: 'log', at, workerId: null, data: { line: e } });
    }
    await store.unitOfWork(async (tx) => {
      await tx.insertTasks(tasks);
      await tx.insertEvents(events);
    });
  }
}

async function benchDb(db) {
  let store;
  let cleanup;
  if (db === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'taskwire-bench-retention-'));
    store = createSqliteStore({ file: join(dir, 'bench.db') });
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const d = await createTestMysqlDatabase();
    store = createMysqlStore({ dsn: d.dsn, poolSize: 4 });
    cleanup = () => d.drop();
  }
  try {
    await store.migrate();
    const now = new Date();
    const seedStart = performance.now();
    await seed(store, now);
    const seedS = (performance.now() - seedStart) / 1000;
    const units = [];
    const purge = createTaskPurge(
      {
        store,
        clock: { now: () => now },
        logger: silent,
        settings: { dispatchTopic: 'd', controlTopic: 'c' },
        signals: { outboxWritten() {}, dueAt() {}, templatesChanged() {} },
      },
      {
        retentionDays: 30,
        batch: BATCH,
        owner: 'bench',
        onUnit: (kind, deleted, ms) => kind === 'tasks' && units.push(ms),
      },
    );
    const began = performance.now();
    const report = await purge.runOnce();
    const seconds = (performance.now() - began) / 1000;
    await purge.stop();
    const sorted = [...units].sort((a, b) => a - b);
    return {
      db,
      seeded_tasks: TASKS,
      seeded_events: TASKS * EVENTS,
      seed_s: round(seedS),
      deleted_tasks: report.tasks,
      deleted_events: report.events,
      purge_s: round(seconds),
      tasks_per_s: Math.round(report.tasks / seconds),
      rows_per_s: Math.round((report.tasks + report.events) / seconds),
      batch: BATCH,
      units: units.length,
      unit_p50_ms: round(percentile(sorted, 50)),
      unit_p99_ms: round(percentile(sorted, 99)),
      unit_max_ms: round(sorted.at(-1) ?? null),
    };
  } finally {
    await store.close();
    await cleanup();
  }
}

const rows = [];
for (const db of DBS) {
  try {
    rows.push(await benchDb(db));
  } catch (err) {
    rows.push({ db, failed: err.message.split('\n')[0] });
  }
}
console.table(rows);
// Rows of databases not run this time (BENCH_DBS) are kept from the previous report.
const out = join(here, 'results', 'retention.json');
const previous = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')).rows ?? []) : [];
rows.push(...previous.filter((r) => !DBS.includes(r.db)));
const report = {
  bench: 'retention',
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? null, node: process.version },
  note: 'one purge pass over seeded_tasks finished tasks (90% past RETENTION_DAYS=30); unit = one transaction of RETENTION_BATCH tasks and their events; timings depend heavily on machine load',
  load_average: loadavg().map((l) => Math.round(l * 10) / 10),
  rows,
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
