// Admission bench: completed tasks/s through a queue with max_in_flight, with per-key limits, and plain (no admission), in process on SQLite (built dist).
// Usage: node bench/admission.mjs   (after `npm run build`); writes bench/results/admission.json.
// A simulated worker pool takes the QUEUED tasks (oldest first, up to WINDOW at a time), applies
// `started` + `succeeded` for them in one result batch, and the admission pass runs after each batch,
// as the manager's admission loop does after results free slots. No Kafka: this isolates the cost
// the manager adds per task (the WAITING step, the locked pass, the second status change).
// Two figures per scenario: `tasks_per_s` times the drain only (a plain task was made QUEUED, its
// event and dispatch row written, by createTasks before the clock starts, while an admitted task
// pays for that in the drain), and `end_to_end_tasks_per_s` times create + drain (each path pays
// for everything it writes).
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'services', 'task-manager', 'dist');
const { createSqliteStore } = await import(join(dist, 'store', 'index.js'));
const { createTasks } = await import(join(dist, 'domain', 'tasks.js'));
const { createTemplate } = await import(join(dist, 'domain', 'templates.js'));
const { applyResults } = await import(join(dist, 'domain', 'results.js'));
const { admitQueue } = await import(join(dist, 'domain', 'admission.js'));
const { setQueueLimit } = await import(join(dist, 'domain', 'queues.js'));
const { systemClock } = await import(join(dist, 'domain', 'clock.js'));

const TASKS = Number(process.env.BENCH_ADMISSION_TASKS ?? 5_000);
const WINDOW = Number(process.env.BENCH_ADMISSION_WINDOW ?? 64);
const KEYS = Number(process.env.BENCH_ADMISSION_KEYS ?? 200);
const PASS_WAITING = Number(process.env.BENCH_ADMISSION_PASS_WAITING ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ADMISSION_ROUNDS ?? 3);

const silent = { child: () => silent, trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {} };
const settings = { dispatchTopic: 'task_execution_requests', controlTopic: 'task_control' };
const noSignals = { outboxWritten() {}, dueAt() {}, templatesChanged() {} };

async function withStore(fn) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-admission-'));
  const store = createSqliteStore({ file: join(dir, 'bench.db') });
  try {
    await store.migrate();
    return await fn({ store, clock: systemClock, logger: silent, settings, signals: noSignals });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
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
  let done = 0;
  let passes = 0;
  let now = Date.now();
  for (;;) {
    if (admit) {
      passes++;
      await admitQueue(deps, queue);
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
  if (done !== TASKS) throw new Error(`drained ${done} of ${TASKS} tasks`);
  return {
    tasks: done,
    seconds: Math.round(seconds * 100) / 100,
    tasks_per_s: Math.round(done / seconds),
    passes,
  };
}

async function scenario(name, setup) {
  return withStore(async (deps) => {
    const created = performance.now();
    const { queue, admit } = await setup(deps);
    const createSeconds = (performance.now() - created) / 1000;
    const result = await drain(deps, queue, admit);
    const total = createSeconds + result.seconds;
    const out = {
      ...result,
      create_seconds: Math.round(createSeconds * 100) / 100,
      end_to_end_tasks_per_s: Math.round(result.tasks / total),
    };
    console.log(
      `${name}: ${out.tasks_per_s} tasks/s drain, ${out.end_to_end_tasks_per_s} tasks/s create + drain (${out.tasks} tasks)`,
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

// On a shared machine the load drifts within seconds: the three paths run interleaved, ROUNDS
// times, and each figure is the median run (by drain rate) of its path.
const runs = { plain: [], limited: [], keyed: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const [key, [name, setup]] of Object.entries(scenarios)) runs[key].push(await scenario(name, setup));
}
const median = (list) => [...list].sort((a, b) => a.tasks_per_s - b.tasks_per_s)[Math.floor(list.length / 2)];
const medianOf = (list, field) =>
  [...list].map((r) => r[field]).sort((a, b) => a - b)[Math.floor(list.length / 2)];
const summary = (list) => ({
  ...median(list),
  end_to_end_tasks_per_s: medianOf(list, 'end_to_end_tasks_per_s'),
  runs_tasks_per_s: list.map((r) => r.tasks_per_s),
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
  for (let i = 0; i < PASS_WAITING; i += 1000) {
    const inputs = [];
    for (let j = i; j < Math.min(PASS_WAITING, i + 1000); j++)
      inputs.push({ templateId: t.id, params: { k: `k${j % 1000}` } });
    await createTasks(deps, inputs);
  }
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
const out = {
  bench: 'admission',
  at: new Date().toISOString(),
  dialect: 'sqlite',
  tasks: TASKS,
  window: WINDOW,
  rounds: ROUNDS,
  note: 'in-process: createTasks, admitQueue and applyResults on a SQLite file; no Kafka',
  plain,
  max_in_flight: { ...limited, vs_plain: ratio(limited), end_to_end_vs_plain: ratioE2e(limited) },
  per_key: { keys: KEYS, limit: 2, ...keyed, vs_plain: ratio(keyed), end_to_end_vs_plain: ratioE2e(keyed) },
  deep_pass: pass,
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'admission.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(JSON.stringify(out, null, 2));
