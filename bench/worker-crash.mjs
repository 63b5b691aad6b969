// Worker-crash stall: 3 workers under steady load on the dev broker, one killed (SIGKILL or SIGTERM);
// prints the longest time without any completion, and how long the killed worker's tasks waited.
// Run after a build: `node bench/worker-crash.mjs` (env: BENCH_SESSION_TIMEOUTS e.g. `30000,10000`,
// BENCH_SIGNALS e.g. `SIGKILL,SIGTERM`, BENCH_RATE tasks/s, BENCH_TASK_MS task duration). Bounded:
// every case ends at most session timeout + 40 s after the kill.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { portOpen, postJson as post, sleep, waitUntil } from './helpers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Read the manager's SQLite file directly to time completions (the bench has no DB driver of its own).
const Database = createRequire(path.join(root, 'services/task-manager/package.json'))('better-sqlite3');
const SESSION_TIMEOUTS = (process.env.BENCH_SESSION_TIMEOUTS ?? '30000,10000,6000').split(',').map(Number);
const SIGNALS = (process.env.BENCH_SIGNALS ?? 'SIGKILL,SIGTERM').split(',');
const RATE = Number(process.env.BENCH_RATE ?? 300);
const TASK_MS = Number(process.env.BENCH_TASK_MS ?? 20);
const WORKERS = 3;
const WARMUP_MS = 6000;

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const procs = [];

function start(script, env, args = []) {
  const child = spawn(process.execPath, [path.join(root, script), ...args], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LOG_LEVEL: 'warn',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  procs.push(child);
  return child;
}

async function runCase(sessionTimeoutMs, signal) {
  const dir = mkdtempSync(path.join(tmpdir(), 'taskwire-crash-'));
  const brokerPort = await freePort();
  const httpPort = await freePort();
  const brokers = `127.0.0.1:${brokerPort}`;
  const db = path.join(dir, 'bench.db');
  const children = [];
  const sqlite = { db: null };
  try {
    children.push(
      start('packages/dev-broker/dist/cli.js', {}, [
        '--port',
        String(brokerPort),
        '--data-dir',
        path.join(dir, 'broker'),
      ]),
    );
    await waitUntil('broker', () => portOpen(brokerPort));
    const url = `http://127.0.0.1:${httpPort}`;
    children.push(
      start('services/task-manager/dist/main.js', {
        SERVER_ADDR: `127.0.0.1:${httpPort}`,
        DB_DSN: db,
        KAFKA_BROKERS: brokers,
      }),
    );
    await waitUntil('manager', async () => (await fetch(`${url}/readyz`)).ok);
    const workers = [];
    for (let i = 0; i < WORKERS; i++) {
      const w = start('services/task-worker/dist/main.js', {
        KAFKA_BROKERS: brokers,
        WORKER_ID: `crash-${i}`,
        WORKER_CONCURRENCY: '32',
        HEARTBEAT_INTERVAL_MS: '1000',
        KAFKA_SESSION_TIMEOUT_MS: String(sessionTimeoutMs),
      });
      children.push(w);
      workers.push(w);
    }
    await waitUntil('workers', async () => {
      const body = await (await fetch(`${url}/workers`)).json();
      return (body.items ?? body).filter((w) => w.alive).length === WORKERS;
    });
    const template = await post(`${url}/templates`, { name: `crash-${Date.now()}`, executor: 'sleep' });
    sqlite.db = new Database(db, { readonly: true, fileMustExist: true });

    // Steady load: RATE/10 tasks every 100 ms, from warm-up until the end of the case.
    let loading = true;
    const load = (async () => {
      let n = 0;
      const t0 = performance.now();
      for (let tick = 0; loading; tick++) {
        const tasks = Array.from({ length: Math.max(1, Math.round(RATE / 10)) }, () => ({
          task_template_id: template.id,
          params: { ms: TASK_MS, n: n++ },
        }));
        await post(`${url}/tasks/batch`, { tasks }).catch(() => undefined);
        const wait = t0 + (tick + 1) * 100 - performance.now();
        if (wait > 0) await sleep(wait);
      }
    })();

    await sleep(WARMUP_MS);
    // Wait for every worker to complete tasks: the group has settled.
    await waitUntil(
      'all workers completing',
      () =>
        sqlite.db
          .prepare(
            `SELECT count(DISTINCT worker_id) AS n FROM tasks WHERE status = 'COMPLETED' AND updated_at > ?`,
          )
          .get(Date.now() - 1000).n === WORKERS,
      30_000,
    );
    const victim = workers[0];
    const killedAt = Date.now();
    victim.kill(signal);
    // Observe until session timeout + 20 s after the kill, then drain.
    const observeUntil = killedAt + sessionTimeoutMs + 20_000;
    await sleep(observeUntil - Date.now());
    loading = false;
    await load;
    await waitUntil(
      'every task finished',
      () =>
        sqlite.db.prepare(`SELECT count(*) AS n FROM tasks WHERE status NOT IN ('COMPLETED')`).get().n === 0,
      20_000,
    ).catch(() => undefined);

    // Completion times (manager's clock, when the result was applied) around the kill.
    const times = sqlite.db
      .prepare(
        `SELECT updated_at AS t FROM tasks WHERE status = 'COMPLETED' AND updated_at BETWEEN ? AND ? ORDER BY updated_at`,
      )
      .all(killedAt - 2000, observeUntil)
      .map((r) => r.t);
    // The same measure over the 5 s before the kill: what the load alone gives on this machine.
    const baseline = sqlite.db
      .prepare(
        `SELECT updated_at AS t FROM tasks WHERE status = 'COMPLETED' AND updated_at BETWEEN ? AND ? ORDER BY updated_at`,
      )
      .all(killedAt - 5000, killedAt)
      .map((r) => r.t)
      .reduce((acc, t) => ({ prev: t, max: Math.max(acc.max, t - acc.prev) }), {
        prev: killedAt - 5000,
        max: 0,
      }).max;
    let gap = 0;
    let gapStart = killedAt;
    let prev = killedAt;
    for (const t of times) {
      if (t < killedAt) continue;
      if (t - prev > gap) {
        gap = t - prev;
        gapStart = prev;
      }
      prev = t;
    }
    // Tasks that were queued at the kill and completed by another worker: how long the victim's
    // partitions waited (create → completed, worst case).
    const stuck = sqlite.db
      .prepare(
        `SELECT max(updated_at - created_at) AS worst FROM tasks WHERE status = 'COMPLETED' AND created_at BETWEEN ? AND ?`,
      )
      .get(killedAt - 2000, killedAt + 2000).worst;
    const unfinished = sqlite.db
      .prepare(`SELECT count(*) AS n FROM tasks WHERE status != 'COMPLETED'`)
      .get().n;
    const before = times.filter((t) => t >= killedAt - 2000 && t < killedAt).length / 2;
    return {
      session_timeout_ms: sessionTimeoutMs,
      signal,
      longest_gap_without_completions_ms: gap,
      longest_gap_in_5s_before_kill_ms: baseline,
      gap_started_ms_after_kill: gapStart - killedAt,
      worst_create_to_completed_ms_around_kill: stuck,
      completions_per_s_before_kill: before,
      unfinished_after_drain: unfinished,
    };
  } finally {
    sqlite.db?.close();
    for (const c of [...children].reverse()) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGTERM');
        await Promise.race([new Promise((r) => c.once('exit', r)), sleep(15_000)]);
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = {
  date: new Date().toISOString(),
  machine: `${cpus().length} cores, load ${loadavg()[0].toFixed(1)}`,
  rate_per_s: RATE,
  task_ms: TASK_MS,
  workers: WORKERS,
  cases: [],
};
try {
  for (const signal of SIGNALS) {
    for (const sessionTimeoutMs of signal === 'SIGKILL' ? SESSION_TIMEOUTS : SESSION_TIMEOUTS.slice(-1)) {
      const r = await runCase(sessionTimeoutMs, signal);
      results.cases.push(r);
      console.log(JSON.stringify(r));
    }
  }
} finally {
  for (const c of procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results/worker-crash.json'), JSON.stringify(results, null, 2));
console.table(
  results.cases.map((c) => ({
    signal: c.signal,
    'session ms': c.session_timeout_ms,
    'gap ms': c.longest_gap_without_completions_ms,
    'gap before kill ms': c.longest_gap_in_5s_before_kill_ms,
    'gap starts at +ms': c.gap_started_ms_after_kill,
    'worst task wait ms': c.worst_create_to_completed_ms_around_kill,
  })),
);
