// Admission bench: completed tasks/s through a queue with max_in_flight, with per-key limits, and plain (no admission); in process on SQLite (built dist), or through real processes (BENCH_ADMISSION_MODE=pipeline).
// Usage: node bench/admission.mjs   (after `npm run build`); writes bench/results/admission.json.
// In-process mode (default):
// A simulated worker pool takes the QUEUED tasks (oldest first, up to WINDOW at a time), applies
// `started` + `succeeded` for them in one result batch (which refills the slots it frees), and the
// admission passes the batch signals run after it, as the manager's admission loop runs them. No Kafka: this isolates the cost
// the manager adds per task (the WAITING step, the locked pass, the second status change).
// Two figures per scenario: `tasks_per_s` times the drain only (a plain task was made QUEUED, its
// event and dispatch row written, by createTasks before the clock starts, while an admitted task
// pays for that in the drain), and `end_to_end_tasks_per_s` times create + drain (each path pays
// for everything it writes).
// Pipeline mode (BENCH_ADMISSION_MODE=pipeline, writes bench/results/admission-pipeline.json):
// bench/pipeline.mjs with 1 worker (concurrency 64) for each scenario — dev broker, manager on
// SQLite, echo tasks posted in batches of 1,000 then single POSTs at a fixed rate — alternated,
// BENCH_ADMISSION_ROUNDS rounds: completed/s, CPU µs per task by process, the ratio to plain.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'services', 'task-manager', 'dist');
const { createSqliteStore, createMysqlStore } = await import(join(dist, 'store', 'index.js'));
const { createTasks } = await import(join(dist, 'domain', 'tasks.js'));
const { createTemplate } = await import(join(dist, 'domain', 'templates.js'));
const { applyResults } = await import(join(dist, 'domain', 'results.js'));
const { admitQueue } = await import(join(dist, 'domain', 'admission.js'));
const { pauseQueue, resumeQueue, setQueueLimit } = await import(join(dist, 'domain', 'queues.js'));
const { systemClock } = await import(join(dist, 'domain', 'clock.js'));

const TASKS = Number(process.env.BENCH_ADMISSION_TASKS ?? 5_000);
const WINDOW = Number(process.env.BENCH_ADMISSION_WINDOW ?? 64);
const KEYS = Number(process.env.BENCH_ADMISSION_KEYS ?? 200);
const PASS_WAITING = Number(process.env.BENCH_ADMISSION_PASS_WAITING ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ADMISSION_ROUNDS ?? 3);
// In-process mode: SQLite files and/or MariaDB/MySQL databases (on 127.0.0.1:3306, as the tests use).
const DBS = (process.env.BENCH_DBS ?? 'sqlite,mysql').split(',');

const MODE = process.env.BENCH_ADMISSION_MODE ?? 'in-process';
if (MODE === 'pipeline') {
  await pipelineMode();
  process.exit(0);
}

const silent = { child: () => silent, trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {} };
const settings = { dispatchTopic: 'task_execution_requests', controlTopic: 'task_control' };
/** The admission loop's wake-ups (queue → the keys whose slots freed, or null: the whole queue). */
const wakeUps = new Map();
const noSignals = {
  outboxWritten() {},
  dueAt() {},
  templatesChanged() {},
  admit(queue, keys) {
    const known = wakeUps.get(queue);
    if (keys === undefined || known === null) wakeUps.set(queue, null);
    else if (known === undefined) wakeUps.set(queue, new Set(keys));
    else for (const k of keys) known.add(k);
  },
};

let DB = 'sqlite';

/** A fresh store of the dialect benched now (DB): a SQLite file, or a MariaDB database of its own. */
async function withStore(fn) {
  let store;
  let cleanup;
  if (DB === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'bench-admission-'));
    store = createSqliteStore({ file: join(dir, 'bench.db') });
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const { createTestMysqlDatabase } = await import('@taskwire/testkit');
    const d = await createTestMysqlDatabase();
    store = createMysqlStore({ dsn: d.dsn, poolSize: 4 });
    cleanup = () => d.drop();
  }
  try {
    await store.migrate();
    return await fn({ store, clock: systemClock, logger: silent, settings, signals: noSignals });
  } finally {
    await store.close();
    await cleanup();
  }
}

async function createAll(deps, templateId, paramsOf) {
  for (let i = 0; i < TASKS; i += 1000) {
    const inputs = [];
    for (let j = i; j < Math.min(TASKS, i + 1000); j++) inputs.push({ templateId, params: paramsOf(j) });
    const out = await createTasks(deps, inputs);
    const bad = out.find((r) => !r.ok);
    if (bad) throw bad.error;
  }
}

/** Drains the queue through the simulated workers; returns completed tasks/s and the passes run. */
async function drain(deps, queue, admit) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  let done = 0;
  let passes = 0;
  let now = Date.now();
  // The tasks created: the whole queue once; then the passes the results ask for, as the admission
  // loop runs them (a result batch refills the slots it frees itself and signals only what is left).
  wakeUps.clear();
  if (admit) wakeUps.set(queue, null);
  for (;;) {
    for (const [q, keys] of [...wakeUps]) {
      wakeUps.delete(q);
      passes++;
      await admitQueue(deps, q, 20, keys === null ? undefined : [...keys]);
    }
    const queued = await deps.store.listTasks({ status: ['QUEUED'], limit: WINDOW });
    if (queued.length === 0) break;
    const messages = [];
    for (const t of queued) {
      now++;
      messages.push({ v: 1, type: 'started', task_id: t.id, attempt: t.attempt, worker_id: 'b', at: now });
      messages.push({
        v: 1,
        type: 'succeeded',
        task_id: t.id,
        attempt: t.attempt,
        worker_id: 'b',
        at: now,
        result: null,
      });
    }
    await applyResults(deps, messages);
    done += queued.length;
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  if (done !== TASKS) throw new Error(`drained ${done} of ${TASKS} tasks`);
  return {
    tasks: done,
    seconds: Math.round(seconds * 100) / 100,
    tasks_per_s: Math.round(done / seconds),
    // This process's CPU (the bench is the manager here): steadier than rates on a shared machine.
    cpu_us_per_task: Math.round((used.user + used.system) / done),
    passes,
  };
}

async function scenario(name, setup) {
  return withStore(async (deps) => {
    const created = performance.now();
    const cpu = process.cpuUsage();
    const { queue, admit } = await setup(deps);
    const createSeconds = (performance.now() - created) / 1000;
    const createCpu = process.cpuUsage(cpu);
    const result = await drain(deps, queue, admit);
    const total = createSeconds + result.seconds;
    const out = {
      ...result,
      create_seconds: Math.round(createSeconds * 100) / 100,
      end_to_end_tasks_per_s: Math.round(result.tasks / total),
      end_to_end_cpu_us_per_task:
        result.cpu_us_per_task + Math.round((createCpu.user + createCpu.system) / result.tasks),
    };
    console.log(
      `${name}: ${out.tasks_per_s} tasks/s drain, ${out.end_to_end_tasks_per_s} tasks/s create + drain (${out.tasks} tasks); CPU µs/task ${out.cpu_us_per_task} drain, ${out.end_to_end_cpu_us_per_task} create + drain`,
    );
    return out;
  });
}

const scenarios = {
  plain: [
    'plain (no admission)',
    async (deps) => {
      const t = await createTemplate(deps, { name: 'plain', executor: 'echo', queue: 'plain' });
      await createAll(deps, t.id, (i) => ({ i }));
      return { queue: 'plain', admit: false };
    },
  ],
  limited: [
    `max_in_flight ${WINDOW}`,
    async (deps) => {
      const t = await createTemplate(deps, { name: 'limited', executor: 'echo', queue: 'limited' });
      await setQueueLimit(deps, 'limited', WINDOW);
      await createAll(deps, t.id, (i) => ({ i }));
      return { queue: 'limited', admit: true };
    },
  ],
  keyed: [
    `${KEYS} keys, concurrency_limit 2`,
    async (deps) => {
      const t = await createTemplate(deps, {
        name: 'keyed',
        executor: 'echo',
        queue: 'keyed',
        concurrencyKey: '/k',
        concurrencyLimit: 2,
      });
      await setQueueLimit(deps, 'keyed', WINDOW);
      await createAll(deps, t.id, (i) => ({ i, k: `k${i % KEYS}` }));
      return { queue: 'keyed', admit: true };
    },
  ],
};

/** The three paths, interleaved ROUNDS times, and one deep pass, on DB. */
async function benchDb() {
  // On a shared machine the load drifts within seconds: the three paths run interleaved, ROUNDS
  // times, and each figure is the median run (by drain rate) of its path.
  const runs = { plain: [], limited: [], keyed: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [key, [name, setup]] of Object.entries(scenarios)) runs[key].push(await scenario(name, setup));
  }
  const median = (list) =>
    [...list].sort((a, b) => a.tasks_per_s - b.tasks_per_s)[Math.floor(list.length / 2)];
  const medianOf = (list, field) =>
    [...list].map((r) => r[field]).sort((a, b) => a - b)[Math.floor(list.length / 2)];
  const summary = (list) => ({
    ...median(list),
    end_to_end_tasks_per_s: medianOf(list, 'end_to_end_tasks_per_s'),
    cpu_us_per_task: medianOf(list, 'cpu_us_per_task'),
    end_to_end_cpu_us_per_task: medianOf(list, 'end_to_end_cpu_us_per_task'),
    runs_tasks_per_s: list.map((r) => r.tasks_per_s),
    runs_cpu_us_per_task: list.map((r) => r.cpu_us_per_task),
  });
  const plain = summary(runs.plain);
  const limited = summary(runs.limited);
  const keyed = summary(runs.keyed);

  // One admission pass over a deep backlog: PASS_WAITING waiting tasks over 1,000 keys, 500 slots.
  const pass = await withStore(async (deps) => {
    const t = await createTemplate(deps, {
      name: 'deep',
      executor: 'echo',
      queue: 'deep',
      concurrencyKey: '/k',
      concurrencyLimit: 1,
    });
    // Created while paused, so that all of them wait (a free key's first task is queued at creation).
    await pauseQueue(deps, 'deep');
    for (let i = 0; i < PASS_WAITING; i += 1000) {
      const inputs = [];
      for (let j = i; j < Math.min(PASS_WAITING, i + 1000); j++)
        inputs.push({ templateId: t.id, params: { k: `k${j % 1000}` } });
      await createTasks(deps, inputs);
    }
    await resumeQueue(deps, 'deep');
    const started = performance.now();
    const admitted = await admitQueue(deps, 'deep', 1);
    const ms = performance.now() - started;
    console.log(
      `one pass, ${PASS_WAITING} waiting over 1000 keys: ${admitted} admitted in ${ms.toFixed(1)} ms`,
    );
    return { waiting: PASS_WAITING, keys: 1000, admitted, ms: Math.round(ms * 10) / 10 };
  });

  const ratio = (r) => Math.round((r.tasks_per_s / plain.tasks_per_s) * 1000) / 1000;
  const ratioE2e = (r) => Math.round((r.end_to_end_tasks_per_s / plain.end_to_end_tasks_per_s) * 1000) / 1000;
  // CPU-bound throughput ratio: plain's CPU per task over the path's (1: no overhead).
  const cpuRatio = (r) => Math.round((plain.cpu_us_per_task / r.cpu_us_per_task) * 1000) / 1000;
  const cpuRatioE2e = (r) =>
    Math.round((plain.end_to_end_cpu_us_per_task / r.end_to_end_cpu_us_per_task) * 1000) / 1000;
  const ratios = (r) => ({
    vs_plain: ratio(r),
    end_to_end_vs_plain: ratioE2e(r),
    cpu_vs_plain: cpuRatio(r),
    end_to_end_cpu_vs_plain: cpuRatioE2e(r),
  });
  return {
    plain,
    max_in_flight: { ...limited, ...ratios(limited) },
    per_key: { keys: KEYS, limit: 2, ...keyed, ...ratios(keyed) },
    deep_pass: pass,
  };
}

// Rows of databases not run this time (BENCH_DBS) are kept from the previous report.
const file = join(here, 'results', 'admission.json');
let previous = {};
try {
  previous = JSON.parse(readFileSync(file, 'utf8'));
} catch {
  previous = {};
}
const out = {
  bench: 'admission',
  at: new Date().toISOString(),
  tasks: TASKS,
  window: WINDOW,
  rounds: ROUNDS,
  note: 'in-process: createTasks, admitQueue and applyResults on a SQLite file or a MariaDB database; no Kafka',
  sqlite: previous.sqlite ?? null,
  mysql: previous.mysql ?? null,
};
for (const db of DBS) {
  DB = db;
  console.log(`== ${db}`);
  out[db] = await benchDb();
}
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(JSON.stringify(out, null, 2));

/**
 * Through real processes: bench/pipeline.mjs per scenario (its env options), the scenarios
 * alternated round by round so that they share the machine's drifting load. Little's law: with
 * max_in_flight N, throughput is at most N / (the round trip of one task: outbox, relay, broker,
 * worker, result, admission), so a small N measures the limit, not admission's cost.
 */
async function pipelineMode() {
  const { spawnSync } = await import('node:child_process');
  const all = {
    plain: {},
    mif64: { BENCH_MAX_IN_FLIGHT: '64' },
    mif1000: { BENCH_MAX_IN_FLIGHT: '1000' },
    keys: { BENCH_KEYS: String(KEYS), BENCH_KEY_LIMIT: '2' },
  };
  const names = (process.env.BENCH_ADMISSION_SCENARIOS ?? Object.keys(all).join(',')).split(',');
  const rounds = Number(process.env.BENCH_ADMISSION_ROUNDS ?? 2);
  const dir = mkdtempSync(join(tmpdir(), 'bench-admission-pipeline-'));
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      for (const name of names) {
        const out = join(dir, `${name}-${round}.json`);
        const child = spawnSync(process.execPath, [join(here, 'pipeline.mjs')], {
          env: {
            ...process.env,
            BENCH_WORKERS: '1',
            BENCH_TASKS: process.env.BENCH_TASKS ?? '10000',
            BENCH_WARMUP: process.env.BENCH_WARMUP ?? '1000',
            BENCH_RATE: process.env.BENCH_RATE ?? '500',
            BENCH_RATE_SECONDS: process.env.BENCH_RATE_SECONDS ?? '4',
            BENCH_IDLE_MS: '200',
            BENCH_OUT: out,
            ...all[name],
          },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        if (child.status !== 0)
          throw new Error(`pipeline run ${name} (round ${round}) failed: ${child.status}`);
        const [run] = JSON.parse(readFileSync(out, 'utf8')).runs;
        const r = {
          round,
          completed_per_s: run.throughput.completed_per_s,
          cpu_us_per_task_all: run.throughput.cpu_us_per_task_all,
          cpu_us_by_process: run.throughput.cpu_us_by_process,
          rate_manager_cpu_us_per_task: run.latency.manager_cpu_us_per_task,
          rate_p50_p99_ms: [run.latency.p50_ms, run.latency.p99_ms],
          // created → queued (p50/p95/p99 ms) at the fixed rate: 0 when tasks are queued at creation.
          rate_queue_leg_ms: run.latency.legs_p50_p95_p99_ms.queue,
        };
        runs[name].push(r);
        console.log(`${name} round ${round}: ${JSON.stringify(r)}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const med = (list) => [...list].sort((a, b) => a - b)[Math.floor((list.length - 1) / 2)];
  const summary = {};
  for (const name of names) {
    const list = runs[name];
    summary[name] = {
      completed_per_s: med(list.map((r) => r.completed_per_s)),
      cpu_us_per_task_all: med(list.map((r) => r.cpu_us_per_task_all)),
      manager_cpu_us_per_task: med(list.map((r) => r.cpu_us_by_process.manager)),
      rate_manager_cpu_us_per_task: med(list.map((r) => r.rate_manager_cpu_us_per_task)),
      runs: list,
    };
    if (name !== 'plain' && runs.plain) {
      // Per round: each run against the plain run of its own round (same load), then the median.
      const ratios = list.map((r, i) => r.completed_per_s / runs.plain[i].completed_per_s);
      summary[name].vs_plain_per_round = ratios.map((x) => Math.round(x * 1000) / 1000);
      summary[name].vs_plain = Math.round(med(ratios) * 1000) / 1000;
    }
  }
  const out = {
    bench: 'admission-pipeline',
    at: new Date().toISOString(),
    load_avg: (await import('node:os')).loadavg().map((l) => +l.toFixed(2)),
    note: `bench/pipeline.mjs, 1 worker of concurrency 64, SQLite, echo; ${KEYS} keys limit 2 without max_in_flight`,
    rounds,
    scenarios: summary,
  };
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'admission-pipeline.json'), `${JSON.stringify(out, null, 2)}\n`);
  console.log(JSON.stringify(out, null, 2));
}
