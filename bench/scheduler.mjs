// Scheduler bench: cron fire lateness and delayed-task dispatch lateness on SQLite (built dist).
// Usage: node bench/scheduler.mjs   (after `tsc -b services/task-manager`); writes bench/results/scheduler.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './helpers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'services', 'task-manager', 'dist');
const { createSqliteStore } = await import(join(dist, 'store', 'index.js'));
const { createCronScheduler, createDueLoop } = await import(join(dist, 'scheduler', 'index.js'));
const { newId } = await import(join(dist, 'domain', 'ids.js'));
const { systemClock } = await import(join(dist, 'domain', 'clock.js'));

const CRON_TEMPLATES = Number(process.env.BENCH_CRON_TEMPLATES ?? 6);
const CRON_SECONDS = Number(process.env.BENCH_CRON_SECONDS ?? 10);
const DELAYED_TASKS = Number(process.env.BENCH_DELAYED_TASKS ?? 500);
const DELAY_SPREAD_MS = Number(process.env.BENCH_DELAY_SPREAD_MS ?? 5_000);

const silent = { child: () => silent, trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {} };
const settings = { dispatchTopic: 'task_execution_requests', controlTopic: 'task_control' };

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (v) => (v === null ? null : Math.round(v * 10) / 10);
  return {
    n: sorted.length,
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(sorted.at(-1) ?? null),
    min_ms: round(sorted[0] ?? null),
  };
}

function template(now, patch) {
  const id = newId();
  return {
    id,
    name: `bench-${id.toLowerCase()}`,
    description: null,
    executor: 'echo',
    queue: 'default',
    paramSchema: null,
    resultSchema: null,
    defaultParams: { bench: true },
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
    ...patch,
  };
}

function pendingTask(tpl, runAt, now) {
  return {
    id: newId(),
    templateId: tpl.id,
    name: tpl.name,
    description: null,
    queue: 'default',
    params: { n: 1 },
    status: 'PENDING',
    result: null,
    error: null,
    attempt: 1,
    maxAttempts: 1,
    backoff: null,
    runAt,
    nextAttemptAt: null,
    timeoutMs: 60000,
    idempotencyKey: null,
    trigger: 'api',
    scheduledFor: null,
    workerId: null,
    createdAt: now,
    queuedAt: null,
    startedAt: null,
    finishedAt: null,
    updatedAt: now,
  };
}

async function withStore(fn) {
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-bench-sched-'));
  const store = createSqliteStore({ file: join(dir, 'bench.db') });
  await store.migrate();
  try {
    return await fn(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Cron: lateness from the fire instant to QUEUED (queued_at) and to the commit (outbox signal). */
async function benchCron() {
  return withStore(async (store) => {
    const now = new Date();
    const templates = Array.from({ length: CRON_TEMPLATES }, () =>
      template(now, { cronExpression: '*/1 * * * * *' }),
    );
    for (const t of templates) await store.insertTemplate(t);
    const committedAt = [];
    const signals = {
      outboxWritten: () => committedAt.push(performance.timeOrigin + performance.now()),
      dueAt() {},
      templatesChanged() {},
    };
    const cron = createCronScheduler({
      store,
      clock: systemClock,
      logger: silent,
      settings,
      signals,
      pollMs: 1000,
    });
    await cron.start();
    // Stop half a second after the CRON_SECONDS-th fire: CRON_TEMPLATES × CRON_SECONDS fires in all.
    const firstFire = Math.ceil(Date.now() / 1000) * 1000;
    await sleep(firstFire + (CRON_SECONDS - 1) * 1000 + 500 - Date.now());
    await cron.stop();
    const queued = [];
    for (const t of templates) {
      for (const task of await store.listTasks({ templateId: t.id, limit: 1000 })) {
        queued.push(task.queuedAt.getTime() - task.scheduledFor.getTime());
      }
    }
    // Every fire is on a whole second and lands well within it, so the commit's lateness is its offset.
    const committed = committedAt.map((ms) => ms % 1000);
    return {
      templates: CRON_TEMPLATES,
      seconds: CRON_SECONDS,
      fire_to_queued_at: summary(queued),
      fire_to_commit: summary(committed),
    };
  });
}

/** Delayed tasks: lateness = queued_at - run_at for tasks spread over a few seconds. */
async function benchDelayed() {
  return withStore(async (store) => {
    const now = new Date();
    const tpl = template(now, {});
    await store.insertTemplate(tpl);
    const start = Date.now() + 500;
    const tasks = Array.from({ length: DELAYED_TASKS }, (_, i) =>
      pendingTask(tpl, new Date(start + Math.floor((i * DELAY_SPREAD_MS) / DELAYED_TASKS)), now),
    );
    const signals = { outboxWritten() {}, dueAt() {}, templatesChanged() {} };
    const loop = createDueLoop({ store, clock: systemClock, logger: silent, settings, signals });
    loop.start();
    await store.insertTasks(tasks);
    loop.wake(tasks[0].runAt);
    const deadline = Date.now() + DELAY_SPREAD_MS + 30_000;
    let done = [];
    while (Date.now() < deadline) {
      await sleep(200);
      done = await store.getTasks(tasks.map((t) => t.id));
      if (done.every((t) => t.status === 'QUEUED')) break;
    }
    await loop.stop();
    const late = done
      .filter((t) => t.status === 'QUEUED')
      .map((t) => t.queuedAt.getTime() - t.runAt.getTime());
    return {
      tasks: DELAYED_TASKS,
      spread_ms: DELAY_SPREAD_MS,
      queued: late.length,
      early: late.filter((ms) => ms < 0).length,
      run_at_to_queued_at: summary(late),
    };
  });
}

const cron = await benchCron();
const delayed = await benchDelayed();
const result = {
  bench: 'scheduler',
  dialect: 'sqlite',
  at: new Date().toISOString(),
  node: process.version,
  target: 'p99 < 50 ms',
  cron,
  delayed,
};
console.log(JSON.stringify(result, null, 2));
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'scheduler.json'), `${JSON.stringify(result, null, 2)}\n`);
