// Side-by-side bench: runs bench/pipeline.mjs (Taskwire) and bench/peers/bullmq.mjs (BullMQ) alternately,
// the same workloads each round, and prints one table of medians and ratios; writes bench/results/compare.json.
// Run: `npm run bench -- compare [--rounds 2] [--tasks 20000] [--rate 1000] [--seconds 10] [--workers 1,2]
// [--warmup 2000] [--db sqlite|mysql]` (needs a build, Redis at REDIS_URL or 127.0.0.1:6379; `--db mysql` runs
// Taskwire's manager on a fresh database on the local MariaDB, as BENCH_DB=mysql node bench/pipeline.mjs does).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const { values: opts } = parseArgs({
  args: argv,
  options: {
    rounds: { type: 'string', default: '2' },
    tasks: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    workers: { type: 'string', default: '1,2' },
    warmup: { type: 'string', default: '2000' },
    db: { type: 'string', default: 'sqlite' },
  },
});
const ROUNDS = Number(opts.rounds);
// One round each would make the "median" a single sample on a machine whose spread is ±20–30%.
if (!Number.isInteger(ROUNDS) || ROUNDS < 2) {
  console.error(`--rounds must be an integer of at least 2, got ${opts.rounds}`);
  process.exit(2);
}
if (!['sqlite', 'mysql'].includes(opts.db)) {
  console.error(`--db must be sqlite or mysql, got ${opts.db}`);
  process.exit(2);
}
const WORKERS = opts.workers.split(',').map(Number);
const env = {
  BENCH_TASKS: opts.tasks,
  BENCH_RATE: opts.rate,
  BENCH_RATE_SECONDS: opts.seconds,
  BENCH_WORKERS: opts.workers,
  BENCH_WARMUP: opts.warmup,
  BENCH_DB: opts.db, // Taskwire's store; bench/peers/bullmq.mjs ignores it
};
const command =
  process.env.npm_lifecycle_event === 'bench'
    ? `npm run bench -- compare ${argv.join(' ')}`.trim()
    : `node bench/compare.mjs ${argv.join(' ')}`.trim();
const contenders = {
  taskwire: 'pipeline.mjs',
  bullmq: 'peers/bullmq.mjs',
};
const loadAvg = () => os.loadavg().map((l) => +l.toFixed(2));

const tmp = mkdtempSync(path.join(os.tmpdir(), 'taskwire-compare-'));
const results = { taskwire: [], bullmq: [] };
const load = { before: loadAvg(), rounds: [], after: null };
try {
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate, so a slow phase of a noisy machine falls on both sides rather than on one.
    for (const [name, script] of Object.entries(contenders)) {
      const out = path.join(tmp, `${name}-${round}.json`);
      console.log(`\n--- round ${round}/${ROUNDS}: ${name} (load ${loadAvg().join(' ')}) ---`);
      load.rounds.push({ round, bench: name, load_avg: loadAvg() });
      const run = spawnSync(process.execPath, [path.join(here, script)], {
        stdio: 'inherit',
        cwd: here,
        env: { ...process.env, ...env, BENCH_OUT: out },
      });
      if (run.status !== 0) throw new Error(`bench/${script} failed in round ${round} (exit ${run.status})`);
      results[name].push(JSON.parse(readFileSync(out, 'utf8')));
    }
  }
} catch (err) {
  console.error(`bench/compare.mjs: ${err.message}`);
  process.exitCode = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
if (process.exitCode) process.exit();
load.after = loadAvg();

function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * The table's rows: [metric, better, taskwire value of a run, bullmq value of a run]. The two benches
 * name their central process differently: the manager for Taskwire, redis-server for BullMQ.
 */
const metrics = (w, rate) => [
  [`bulk create→completed jobs/s, ${w}w`, 'higher', (r) => r.throughput.completed_per_s],
  [`CPU µs/job all processes, bulk, ${w}w`, 'lower', (r) => r.throughput.cpu_us_per_task_all],
  [`p50 ms create→completed at ${rate}/s, ${w}w`, 'lower', (r) => r.latency.p50_ms],
  [`p95 ms at ${rate}/s, ${w}w`, 'lower', (r) => r.latency.p95_ms],
  [`p99 ms at ${rate}/s, ${w}w`, 'lower', (r) => r.latency.p99_ms],
  [`max ms at ${rate}/s, ${w}w`, 'lower', (r) => r.latency.max_ms],
  [`CPU µs/job all processes at ${rate}/s, ${w}w`, 'lower', (r) => r.latency.cpu_us_per_task_all],
  [
    `central CPU µs per single create (manager, redis-server), ${w}w`,
    'lower',
    (r) => r.latency.manager_cpu_us_per_task ?? r.latency.redis_cpu_us_per_task,
  ],
  [`worker RSS idle MiB, ${w}w`, 'lower', (r) => r.rss_mib.worker_idle],
  [`worker RSS under load (peak) MiB, ${w}w`, 'lower', (r) => r.rss_mib.worker_load],
  [
    `central RSS idle MiB (manager, redis-server), ${w}w`,
    'lower',
    (r) => r.rss_mib.manager_idle ?? r.rss_mib.redis_idle,
  ],
  [
    `central RSS under load MiB (manager, redis-server), ${w}w`,
    'lower',
    (r) => r.rss_mib.manager_load ?? r.rss_mib.redis_load,
  ],
];

const round1 = (x) => (x === null ? null : Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 10) / 10);
const rows = WORKERS.flatMap((w) =>
  metrics(w, Number(opts.rate)).map(([metric, better, pick]) => {
    const values = (name) => results[name].map((res) => res.runs.find((r) => r.workers === w)).map(pick);
    const taskwire = values('taskwire');
    const bullmq = values('bullmq');
    const tw = median(taskwire);
    const bq = median(bullmq);
    return {
      metric: `${metric} ${better === 'higher' ? '↑' : '↓'}`,
      better,
      bullmq_median: round1(bq),
      taskwire_median: round1(tw),
      ratio: tw !== null && bq ? Math.round((tw / bq) * 100) / 100 : null,
      bullmq,
      taskwire,
    };
  }),
);

const report = {
  date: new Date().toISOString(),
  command,
  machine: `${os.cpus().length} cores`,
  rounds: ROUNDS,
  config: env,
  versions: { bullmq: results.bullmq[0]?.bullmq_version, redis: results.bullmq[0]?.redis_version },
  load_avg: load,
  rows,
  raw: results,
};
mkdirSync(path.join(here, 'results'), { recursive: true });
writeFileSync(path.join(here, 'results/compare.json'), JSON.stringify(report, null, 2));

// One Markdown table, so it can be pasted into the README as printed.
const cells = [
  [
    'metric',
    'BullMQ median',
    `Taskwire median${opts.db === 'mysql' ? ' (MariaDB)' : ''}`,
    'ratio Taskwire/BullMQ',
  ],
  ...rows.map((r) => [
    r.metric,
    String(r.bullmq_median ?? '—'),
    String(r.taskwire_median ?? '—'),
    r.ratio === null ? '—' : `${r.ratio}×`,
  ]),
];
const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => row[i].length)));
const line = (row) =>
  `| ${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
console.log(`\n${line(cells[0])}`);
console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
for (const row of cells.slice(1)) console.log(line(row));
console.log(
  `\n${ROUNDS} rounds each, alternating (Taskwire first); medians over rounds; ↑ higher is better, ↓ lower is better.` +
    `\nBullMQ ${report.versions.bullmq} on Redis ${report.versions.redis}; ${report.machine}; load average (1/5/15 min) ` +
    `before ${load.before.join(' ')}, after ${load.after.join(' ')}.` +
    `\ncommand: ${command}` +
    `\neach round: ${Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')} node bench/pipeline.mjs, then node bench/peers/bullmq.mjs` +
    `\nwritten to bench/results/compare.json`,
);
