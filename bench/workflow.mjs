// Workflow bench: wall time of a 1,000-step workflow (fan-out 1 → 998 → 1) on SQLite, results applied
// directly in batches of 200 as the result consumer would (no Kafka, no worker: the manager's own
// cost), and the store calls it took. Usage: node bench/workflow.mjs (after `npm run build`);
// writes bench/results/workflow.json. BENCH_WORKFLOW_STEPS sets the fan-out width + 2.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'services', 'task-manager', 'dist');
const { createSqliteStore } = await import(join(dist, 'store', 'index.js'));
const { createWorkflow, getWorkflow } = await import(join(dist, 'domain', 'workflows.js'));
const { createTemplate } = await import(join(dist, 'domain', 'templates.js'));
const { applyResults } = await import(join(dist, 'domain', 'results.js'));
const { systemClock } = await import(join(dist, 'domain', 'clock.js'));

const STEPS = Number(process.env.BENCH_WORKFLOW_STEPS ?? 1_000);
const BATCH = 200;
const silent = { child: () => silent, trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {} };
const noSignals = { outboxWritten() {}, dueAt() {}, templatesChanged() {} };

/** Counts store calls, inside units of work too. */
function counting(store) {
  const calls = { ops: 0, units: 0 };
  const wrap = (target) =>
    new Proxy(target, {
      get(t, prop) {
        const value = t[prop];
        if (typeof value !== 'function') return value;
        if (prop === 'unitOfWork')
          return (fn) => {
            calls.units++;
            return t.unitOfWork((tx) => fn(wrap(tx)));
          };
        return (...args) => {
          calls.ops++;
          return value.apply(t, args);
        };
      },
    });
  return { store: wrap(store), calls };
}

const dir = mkdtempSync(join(tmpdir(), 'bench-workflow-'));
const raw = createSqliteStore({ file: join(dir, 'bench.db') });
await raw.migrate();
const { store, calls } = counting(raw);
const deps = {
  store,
  clock: systemClock,
  logger: silent,
  settings: { dispatchTopic: 'dispatch', controlTopic: 'control' },
  signals: noSignals,
};
try {
  const tpl = await createTemplate(deps, { name: 'bench-echo', executor: 'echo' });
  const middle = Array.from({ length: STEPS - 2 }, (_, i) => `m${i}`);
  const steps = [
    { key: 'root', templateId: tpl.id, params: { seed: 1 } },
    ...middle.map((key, i) => ({
      key,
      templateId: tpl.id,
      dependsOn: ['root'],
      params: { i, seed: { $ref: '#/steps/root/result/seed' } },
    })),
    {
      key: 'sink',
      templateId: tpl.id,
      dependsOn: middle,
      params: { last: { $ref: `#/steps/${middle.at(-1)}/result/i` } },
    },
  ];
  const t0 = performance.now();
  const created = await createWorkflow(deps, { name: 'bench', steps });
  const createMs = performance.now() - t0;
  const callsAtCreate = { ...calls };
  let rounds = 0;
  for (;;) {
    const view = await getWorkflow({ ...deps, store: raw }, created.workflow.id);
    if (view.workflow.status !== 'RUNNING') break;
    const queued = view.steps.filter((s) => s.task.status === 'QUEUED').map((s) => s.task);
    if (queued.length === 0) throw new Error('workflow stalled: RUNNING with no queued step');
    for (let i = 0; i < queued.length; i += BATCH) {
      await applyResults(
        deps,
        queued.slice(i, i + BATCH).map((t) => ({
          v: 1,
          type: 'succeeded',
          task_id: t.id,
          attempt: t.attempt,
          worker_id: 'bench',
          at: Date.now(),
          result: t.params,
        })),
      );
    }
    rounds++;
  }
  const totalMs = performance.now() - t0;
  const final = await raw.getWorkflow(created.workflow.id);
  const result = {
    steps: STEPS,
    shape: `1 → ${STEPS - 2} → 1`,
    status: final.status,
    create_ms: Math.round(createMs),
    run_ms: Math.round(totalMs - createMs),
    total_ms: Math.round(totalMs),
    store_calls_create: callsAtCreate.ops,
    store_calls_total: calls.ops,
    store_calls_per_step: Math.round((calls.ops / STEPS) * 10) / 10,
    units_of_work: calls.units,
    result_batches_of: BATCH,
    levels: rounds,
    note: 'SQLite file, results applied in-process (the manager side only; no Kafka or worker)',
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'workflow.json'), `${JSON.stringify(result, null, 2)}\n`);
  if (final.status !== 'COMPLETED') process.exitCode = 1;
} finally {
  await raw.close();
  rmSync(dir, { recursive: true, force: true });
}
